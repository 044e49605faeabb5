package perf

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/vecswitch/vecswitch/pipeline"
	"github.com/vecswitch/vecswitch/ports/memport"
	"github.com/vecswitch/vecswitch/vswitch"
)

// Scenario is a switch wired for one traffic pattern.
type Scenario struct {
	Name   string
	Switch *vswitch.Switch
	Ports  []*memport.Port
	// OutPerIn is how many frames leave per frame received (8 for flood-8).
	OutPerIn int
}

// Kinds of scenario.
const (
	L2OneFlow = "l2-1flow"
	L2MACs    = "l2-macs" // random source and destination among N learned MACs
	Flood8    = "flood-8"
	VLANPush  = "vlan-push"
	VLANPop   = "vlan-pop"
)

// FrameLen is the frame size the scenarios send (64 bytes on the wire
// including the 4-byte FCS, which a port does not hand to software).
const FrameLen = 60

// NewScenario builds a scenario. macs is used by L2MACs only (total
// learned MACs, half behind each of the two ports).
func NewScenario(kind string, macs int) (*Scenario, error) {
	sc := &Scenario{Name: kind, OutPerIn: 1}
	nports := 2
	if kind == Flood8 {
		nports = 9
		sc.OutPerIn = 8
	}
	if kind == L2MACs {
		sc.Name = fmt.Sprintf("%s-%d", kind, macs)
		if macs < 2 {
			return nil, fmt.Errorf("perf: %s needs at least 2 MACs", kind)
		}
	}
	sw, err := vswitch.New(vswitch.Options{PoolFrames: 8192, LearnRing: 1 << 16})
	if err != nil {
		return nil, err
	}
	sc.Switch = sw
	br := vswitch.Bridge{Name: "br0", MACLimit: max(macs+16, vswitch.DefaultMACLimit)}
	for i := range nports {
		p, err := memport.New(memport.Config{Name: fmt.Sprintf("p%d", i)})
		if err != nil {
			sc.Close()
			return nil, err
		}
		if err := sw.AddPort(p); err != nil {
			sc.Close()
			return nil, err
		}
		sc.Ports = append(sc.Ports, p)
		bp := vswitch.Port{Name: p.Name()}
		switch {
		case kind == VLANPush && i == 1, kind == VLANPop && i == 0:
			bp.Mode, bp.Trunks = vswitch.Trunk, []uint16{10}
		case kind == VLANPush, kind == VLANPop:
			bp.VLAN = 10
		}
		br.Ports = append(br.Ports, bp)
	}
	if err := sw.Reconfigure(vswitch.Config{Bridges: []vswitch.Bridge{br}}); err != nil {
		sc.Close()
		return nil, err
	}
	var frames [][]byte
	switch kind {
	case L2OneFlow, VLANPush:
		sc.learn(0, []uint64{1}, -1)
		sc.learn(1, []uint64{2}, vlanOf(kind == VLANPush))
		frames = [][]byte{Frame(2, 1, -1)}
	case VLANPop:
		sc.learn(0, []uint64{1}, 10)
		sc.learn(1, []uint64{2}, -1)
		frames = [][]byte{Frame(2, 1, 10)}
	case Flood8:
		frames = [][]byte{Frame(0xFFFFFFFFFFFF, 1, -1)}
	case L2MACs:
		a, b := make([]uint64, macs/2), make([]uint64, macs-macs/2)
		for i := range a {
			a[i] = uint64(0x020000000000) | uint64(i)
		}
		for i := range b {
			b[i] = uint64(0x020100000000) | uint64(i)
		}
		sc.learn(0, a, -1)
		sc.learn(1, b, -1)
		rng := rand.New(rand.NewPCG(1, 2))
		frames = make([][]byte, max(macs, 1024))
		for i := range frames {
			frames[i] = Frame(b[rng.IntN(len(b))], a[rng.IntN(len(a))], -1)
		}
	default:
		sc.Close()
		return nil, fmt.Errorf("perf: unknown scenario %q", kind)
	}
	return sc.feed(0, frames)
}

// feed makes port src send frames over and over and every port a sink,
// and returns the scenario ready to poll; on error it closes it.
func (sc *Scenario) feed(src int, frames [][]byte) (*Scenario, error) {
	if err := sc.Ports[src].SetSource(frames); err != nil {
		sc.Close()
		return nil, err
	}
	for _, p := range sc.Ports {
		p.SetSink(true)
	}
	return sc, nil
}

func vlanOf(tagged bool) int {
	if tagged {
		return 10
	}
	return -1
}

// learn sends one frame from every MAC in srcs on port i and waits until the
// switch has learned them.
func (sc *Scenario) learn(i int, srcs []uint64, vlan int) {
	p := sc.Ports[i]
	for len(srcs) > 0 {
		k := min(len(srcs), 512)
		batch := make([][]byte, k)
		for j := range batch {
			batch[j] = Frame(0x02FFFFFFFFFF, srcs[j], vlan) // unknown destination
		}
		p.Inject(0, batch...)
		for p.Pending() > 0 {
			sc.Switch.Poll()
		}
		srcs = srcs[k:]
	}
	for _, q := range sc.Ports {
		q.CollectAll()
	}
}

// Poll runs one worker iteration on the calling goroutine and returns the
// number of frames received.
func (sc *Scenario) Poll() int { return sc.Switch.Workers()[0].Poll() }

// Runtime returns the node counters of the switch.
func (sc *Scenario) Runtime() []pipeline.NodeCounters {
	sc.Switch.Workers()[0].PublishStats() // Poll runs on this goroutine
	return sc.Switch.Runtime()
}

// Close releases the switch.
func (sc *Scenario) Close() { sc.Switch.Close() }

// Frame builds a 60-byte IPv4/UDP frame (tagged or not) from src to dst (MACs in
// the low 48 bits), tagged with vlan unless vlan < 0. It is written by hand,
// not with gopacket, so that building a million of them is quick.
func Frame(dst, src uint64, vlan int) []byte {
	b := make([]byte, 0, FrameLen)
	b = binary.BigEndian.AppendUint16(b, uint16(dst>>32))
	b = binary.BigEndian.AppendUint32(b, uint32(dst))
	b = binary.BigEndian.AppendUint16(b, uint16(src>>32))
	b = binary.BigEndian.AppendUint32(b, uint32(src))
	if vlan >= 0 {
		b = append(b, 0x81, 0x00, byte(vlan>>8), byte(vlan))
	}
	b = append(b, 0x08, 0x00)
	ipStart := len(b)
	b = append(b, 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2)
	b = append(b, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 0) // UDP 1234 -> 5678, checksum 0
	for len(b) < FrameLen {
		b = append(b, 0)
	}
	ipLen := len(b) - ipStart
	binary.BigEndian.PutUint16(b[ipStart+2:], uint16(ipLen))
	binary.BigEndian.PutUint16(b[ipStart+20+4:], uint16(ipLen-20))
	binary.BigEndian.PutUint16(b[ipStart+10:], ^csumFold(csumAdd(0, b[ipStart:ipStart+20])))
	return b
}

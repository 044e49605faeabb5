package main

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/vecswitch/vecswitch/overlay/etcd"
	"github.com/vecswitch/vecswitch/vswitch"
)

// The etcd overlay control plane (--etcd): this host publishes the VNIs it
// carries and the MACs on its local ports in them, and learns the other
// hosts' VTEPs and MACs, which it gives the switch as overlay state (not
// stored: etcd holds it). The switch stays the owner of the data path; the
// etcd code lives in overlay/etcd so the core packages do not import it.

const overlayTick = 200 * time.Millisecond

// switchSink applies the other hosts' view to the switch, on its own
// goroutine (a Sink must return at once; a switch change waits for the
// workers).
type switchSink struct {
	ops chan func()
	sw  *vswitch.Switch
	log *slog.Logger
}

func newSwitchSink(ctx context.Context, sw *vswitch.Switch, log *slog.Logger) *switchSink {
	s := &switchSink{ops: make(chan func(), 4096), sw: sw, log: log}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case op := <-s.ops:
				op()
			}
		}
	}()
	return s
}

func (s *switchSink) SetRemotes(vni uint32, vteps []netip.Addr) {
	s.ops <- func() {
		if err := s.sw.SetOverlayRemotes(vni, vteps); err != nil {
			s.log.Warn("overlay: remotes not applied", "vni", vni, "err", err)
		}
	}
}

func (s *switchSink) SetEndpoint(e etcd.Endpoint) {
	s.ops <- func() {
		if err := s.sw.SetOverlayEndpoint(e.VNI, mac48(e.MAC), e.VTEP); err != nil {
			s.log.Warn("overlay: endpoint not applied", "vni", e.VNI, "err", err)
		}
	}
}

func (s *switchSink) DeleteEndpoint(vni uint32, mac [6]byte) {
	s.ops <- func() { s.sw.DeleteOverlayEndpoint(vni, mac48(mac)) }
}

func mac48(m [6]byte) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

func macBytes(m uint64) [6]byte {
	return [6]byte{byte(m >> 40), byte(m >> 32), byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}

// runOverlay keeps etcd and the switch in step until ctx ends: it (re)makes
// the syncer when the VTEP address changes, joins and leaves VNIs as the
// configuration changes, and publishes and withdraws local endpoints.
func runOverlay(ctx context.Context, endpoints []string, prefix string, sw *vswitch.Switch, log *slog.Logger, handedOver func() bool) {
	sink := newSwitchSink(ctx, sw, log)
	var (
		sy        *etcd.Syncer
		cancel    = context.CancelFunc(func() {})
		local     netip.Addr
		joined    = map[uint32]bool{}
		published = map[vswitch.LocalEndpoint]bool{}
	)
	stop := func() {
		if sy != nil {
			if handedOver() {
				// The successor (vswitchd --takeover) writes the same
				// entries under its own lease: revoking ours would
				// drop this VTEP from the other hosts for a moment.
				sy.KeepLease()
			}
			cancel()
			sy.Close()
			sy = nil
		}
		joined, published = map[uint32]bool{}, map[vswitch.LocalEndpoint]bool{}
	}
	defer func() { stop(); cancel() }()
	t := time.NewTicker(overlayTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cfg := sw.Config()
		var vtep netip.Addr
		if cfg.VTEP != nil {
			vtep, _ = netip.ParseAddr(cfg.VTEP.Addr)
		}
		if vtep != local {
			stop()
			local = vtep
			if !vtep.IsValid() {
				continue
			}
			var err error
			sy, err = etcd.New(etcd.Config{Endpoints: endpoints, Prefix: prefix, Local: vtep, Logger: log,
				Sink: sink})
			if err != nil {
				log.Error("overlay: etcd", "err", err)
				local = netip.Addr{} // try again
				continue
			}
			rctx, rcancel := context.WithCancel(ctx)
			cancel = rcancel
			go sy.Run(rctx)
			log.Info("overlay: publishing to etcd", "vtep", vtep, "endpoints", endpoints)
		}
		if sy == nil {
			continue
		}
		want := map[uint32]bool{}
		for _, b := range cfg.Bridges {
			for _, n := range b.VXLAN {
				want[n.VNI] = true
			}
		}
		for vni := range want {
			if !joined[vni] {
				if err := sy.Join(ctx, vni); err == nil {
					joined[vni] = true
				}
			}
		}
		for vni := range joined {
			if !want[vni] {
				sy.Leave(ctx, vni)
				delete(joined, vni)
			}
		}
		now := map[vswitch.LocalEndpoint]bool{}
		for _, e := range sw.LocalEndpoints() {
			now[e] = true
			if !published[e] {
				if err := sy.Publish(ctx, etcd.Endpoint{VNI: e.VNI, MAC: macBytes(e.MAC), VTEP: vtep}); err == nil {
					published[e] = true
				}
			}
		}
		for e := range published {
			if !now[e] {
				sy.Withdraw(ctx, e.VNI, macBytes(e.MAC))
				delete(published, e)
			}
		}
	}
}

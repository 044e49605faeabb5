package etcd

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The other side: a copy of everything under <prefix>vni/ (ours included),
// kept by a list-then-watch, and what the Sink has been told. Every change
// to the copy, or to the set of joined VNIs, is followed by a reconcile of
// what it touched: the Sink is told the difference between the projection
// of the copy (joined VNIs, other VTEPs) and what it was told before.
// All of it is guarded by Syncer.mu.

// vniView is the copy of one VNI's keys.
type vniView struct {
	members map[netip.Addr]struct{}
	macs    map[[6]byte]Endpoint
}

type viewState struct {
	sink    Sink
	vnis    map[uint32]*vniView
	joined  map[uint32]struct{}
	remotes map[uint32][]netip.Addr         // told to the Sink; absent = empty
	eps     map[uint32]map[[6]byte]Endpoint // told to the Sink
}

func (v *viewState) init(sink Sink) {
	v.sink = sink
	v.vnis = make(map[uint32]*vniView)
	v.joined = make(map[uint32]struct{})
	v.remotes = make(map[uint32][]netip.Addr)
	v.eps = make(map[uint32]map[[6]byte]Endpoint)
}

func vniOf(vnis map[uint32]*vniView, vni uint32) *vniView {
	vv := vnis[vni]
	if vv == nil {
		vv = &vniView{members: make(map[netip.Addr]struct{}), macs: make(map[[6]byte]Endpoint)}
		vnis[vni] = vv
	}
	return vv
}

func pruneVNI(vnis map[uint32]*vniView, vni uint32) {
	if vv := vnis[vni]; vv != nil && len(vv.members) == 0 && len(vv.macs) == 0 {
		delete(vnis, vni)
	}
}

// applyKV applies one put (val != nil) or delete (val == nil) to vnis and
// returns the parsed key. Malformed keys and values are counted and treated
// as absent.
func (s *Syncer) applyKV(vnis map[uint32]*vniView, key string, val []byte, del bool) (parsedKey, bool) {
	k, err := parseKey(s.prefix, key)
	if err != nil {
		s.stats.malformed.Add(1)
		s.log.Debug("ignoring malformed key", "err", err)
		return k, false
	}
	switch k.kind {
	case keyMember:
		if del {
			if vv := vnis[k.vni]; vv != nil {
				delete(vv.members, k.vtep)
			}
		} else {
			vniOf(vnis, k.vni).members[k.vtep] = struct{}{}
		}
	case keyMAC:
		var e Endpoint
		if !del {
			e, err = decodeEndpoint(k, val)
			if err != nil {
				s.stats.malformed.Add(1)
				s.log.Debug("ignoring malformed value", "key", key, "err", err)
				del = true
			}
		}
		if del {
			if vv := vnis[k.vni]; vv != nil {
				delete(vv.macs, k.mac)
			}
		} else {
			vniOf(vnis, k.vni).macs[k.mac] = e
		}
	default:
		return k, false
	}
	pruneVNI(vnis, k.vni)
	return k, true
}

// applyEvents applies watched events and tells the Sink what changed.
func (s *Syncer) applyEvents(evs []*clientv3.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range evs {
		k, ok := s.applyKV(s.view.vnis, string(ev.Kv.Key), ev.Kv.Value, ev.Type == mvccpb.DELETE)
		if !ok {
			continue
		}
		if k.kind == keyMember {
			s.reconcileRemotes(k.vni)
		} else {
			s.reconcileMAC(k.vni, k.mac)
		}
	}
}

// replaceView installs a fresh copy from a full listing and tells the Sink
// the difference from what it was told before.
func (s *Syncer) replaceView(kvs []*mvccpb.KeyValue) {
	vnis := make(map[uint32]*vniView)
	for _, kv := range kvs {
		s.applyKV(vnis, string(kv.Key), kv.Value, false)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	touched := make(map[uint32]struct{}, len(vnis))
	for vni := range s.view.vnis {
		touched[vni] = struct{}{}
	}
	for vni := range vnis {
		touched[vni] = struct{}{}
	}
	s.view.vnis = vnis
	for vni := range touched {
		s.reconcileVNI(vni)
	}
}

// viewJoin starts projecting vni into the Sink. mu held.
func (s *Syncer) viewJoin(vni uint32) {
	s.view.joined[vni] = struct{}{}
	s.reconcileVNI(vni)
}

// viewLeave stops projecting vni: the Sink is told it has no remotes and no
// endpoints there. mu held.
func (s *Syncer) viewLeave(vni uint32) {
	delete(s.view.joined, vni)
	s.reconcileVNI(vni)
}

// reconcileVNI brings the Sink up to date for one VNI: remotes first, then
// every MAC it knows or is told about. mu held.
func (s *Syncer) reconcileVNI(vni uint32) {
	s.reconcileRemotes(vni)
	var macs [][6]byte
	if vv := s.view.vnis[vni]; vv != nil {
		for mac := range vv.macs {
			macs = append(macs, mac)
		}
	}
	for mac := range s.view.eps[vni] {
		if vv := s.view.vnis[vni]; vv == nil || !hasMAC(vv, mac) {
			macs = append(macs, mac)
		}
	}
	for _, mac := range macs {
		s.reconcileMAC(vni, mac)
	}
}

func hasMAC(vv *vniView, mac [6]byte) bool {
	_, ok := vv.macs[mac]
	return ok
}

// reconcileRemotes tells the Sink the VNI's other VTEPs if they changed.
// mu held.
func (s *Syncer) reconcileRemotes(vni uint32) {
	var want []netip.Addr
	if _, joined := s.view.joined[vni]; joined {
		if vv := s.view.vnis[vni]; vv != nil {
			for a := range vv.members {
				if a != s.local {
					want = append(want, a)
				}
			}
		}
		slices.SortFunc(want, netip.Addr.Compare)
	}
	if slices.Equal(want, s.view.remotes[vni]) {
		return
	}
	if len(want) == 0 {
		delete(s.view.remotes, vni)
	} else {
		s.view.remotes[vni] = want
	}
	s.view.sink.SetRemotes(vni, slices.Clone(want))
}

// reconcileMAC tells the Sink about one MAC if its remote endpoint changed.
// mu held.
func (s *Syncer) reconcileMAC(vni uint32, mac [6]byte) {
	var want Endpoint
	ok := false
	if _, joined := s.view.joined[vni]; joined {
		if vv := s.view.vnis[vni]; vv != nil {
			want, ok = vv.macs[mac]
			ok = ok && want.VTEP != s.local
		}
	}
	told := s.view.eps[vni]
	have, had := told[mac]
	switch {
	case ok && (!had || have != want):
		if told == nil {
			told = make(map[[6]byte]Endpoint)
			s.view.eps[vni] = told
		}
		told[mac] = want
		s.view.sink.SetEndpoint(want)
	case !ok && had:
		delete(told, mac)
		if len(told) == 0 {
			delete(s.view.eps, vni)
		}
		s.view.sink.DeleteEndpoint(vni, mac)
	}
}

// watchLoop lists the prefix, feeds the Sink, and watches from the next
// revision; on compaction or any watch failure it lists again. It returns
// when ctx is done.
func (s *Syncer) watchLoop(ctx context.Context) {
	var bo backoff
	for ctx.Err() == nil {
		rev, err := s.relist(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("listing failed, retrying", "err", err)
				bo.wait(ctx)
			}
			continue
		}
		if s.afterList != nil {
			s.afterList(rev)
		}
		start := time.Now()
		err = s.watch(ctx, rev+1)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > backoffMax {
			bo.reset() // the watch was healthy for a while
		}
		s.stats.watchErrors.Add(1)
		s.log.Warn("watch ended, re-listing", "err", err)
		if !bo.wait(ctx) {
			return
		}
	}
}

// relist reads the whole prefix into a fresh copy and returns the revision
// it was read at.
func (s *Syncer) relist(ctx context.Context) (int64, error) {
	gctx, cancel := s.opCtx(ctx)
	defer cancel()
	resp, err := s.cli.Get(gctx, s.prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("etcd overlay: list %s: %w", s.prefix, err)
	}
	s.stats.relists.Add(1)
	s.replaceView(resp.Kvs)
	return resp.Header.Revision, nil
}

// watch applies the prefix's events from rev on until the watch fails or
// ctx is done.
func (s *Syncer) watch(ctx context.Context, rev int64) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel() // releases the watcher on every way out
	wch := s.cli.Watch(wctx, s.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
	for wr := range wch {
		if err := wr.Err(); err != nil {
			return fmt.Errorf("etcd overlay: watch %s from %d: %w", s.prefix, rev, err)
		}
		if len(wr.Events) > 0 {
			s.applyEvents(wr.Events)
			rev = wr.Header.Revision + 1
		}
	}
	return fmt.Errorf("etcd overlay: watch %s: channel closed", s.prefix)
}

// View returns a copy of what the Syncer last read from etcd, for display
// (vsctl show): every member and endpoint of every VNI, ours included,
// joined or not, sorted by VNI, then VTEP or MAC.
func (s *Syncer) View() (members []Member, endpoints []Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for vni, vv := range s.view.vnis {
		for a := range vv.members {
			members = append(members, Member{VNI: vni, VTEP: a})
		}
		for _, e := range vv.macs {
			endpoints = append(endpoints, e)
		}
	}
	slices.SortFunc(members, func(a, b Member) int {
		return cmp.Or(cmp.Compare(a.VNI, b.VNI), a.VTEP.Compare(b.VTEP))
	})
	slices.SortFunc(endpoints, func(a, b Endpoint) int {
		return cmp.Or(cmp.Compare(a.VNI, b.VNI), bytes.Compare(a.MAC[:], b.MAC[:]))
	})
	return members, endpoints
}

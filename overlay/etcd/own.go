package etcd

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Our side: the desired state (what this host wants published), the lease
// it is published under, and the writes. All of it is guarded by Syncer.wmu,
// which is also held across each write so that writes of one key never
// overtake each other.

// ownEntry is a key we want in etcd.
type ownEntry struct {
	val     []byte // the exact value we write; conditional writes compare it
	written bool   // a write of val succeeded once (under some lease)
}

type ownState struct {
	lease   clientv3.LeaseID     // 0: none held (before Run, lease lost, etcd down)
	entries map[string]*ownEntry // key -> what we want there
	dels    map[string][]byte    // withdrawn keys still to delete -> the value we wrote
	dirty   bool                 // a write failed or waits for a lease: retry all
}

func (o *ownState) init() {
	o.entries = make(map[string]*ownEntry)
	o.dels = make(map[string][]byte)
}

// retryEvery is how often failed writes are retried while a lease is held.
const retryEvery = time.Second

// Join publishes our membership in vni (key <prefix>vni/<vni>/members/<vtep>
// under our lease) and starts feeding the Sink with that VNI's remotes and
// endpoints. The membership is recorded even if the write fails or no lease
// is held yet; Run writes it as soon as it can, and after every lease loss.
// A returned error is worth logging, not retrying.
func (s *Syncer) Join(ctx context.Context, vni uint32) error {
	if vni > MaxVNI {
		return fmt.Errorf("etcd overlay: join %d: %w", vni, ErrBadVNI)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	key := memberKey(s.prefix, vni, s.local)
	e := &ownEntry{val: encodeRecord(s.local, netip.Addr{}, time.Now())}
	s.own.entries[key] = e
	delete(s.own.dels, key)
	s.mu.Lock()
	s.viewJoin(vni)
	s.mu.Unlock()
	_, err := s.putLocked(ctx, key, e, false)
	return err
}

// Leave withdraws our membership in vni and tells the Sink that the VNI has
// no remotes and none of its endpoints any more. Our endpoints published in
// vni stay published until withdrawn.
func (s *Syncer) Leave(ctx context.Context, vni uint32) error {
	if vni > MaxVNI {
		return fmt.Errorf("etcd overlay: leave %d: %w", vni, ErrBadVNI)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	s.viewLeave(vni)
	s.mu.Unlock()
	return s.withdrawLocked(ctx, memberKey(s.prefix, vni, s.local))
}

// Publish announces that endpoint e is behind our VTEP: key
// <prefix>vni/<vni>/macs/<mac> with value {"vtep","ip","updated"} under our
// lease. It overwrites whatever is there: a MAC that moved here wins over
// its old host (last writer wins). e.VTEP must be the local VTEP or zero.
// As with Join, the entry is recorded even when the write fails, and
// retried. Publishing needs no Join, but the other hosts pass an endpoint
// on to their switch only in VNIs they have joined.
func (s *Syncer) Publish(ctx context.Context, e Endpoint) error {
	if e.VNI > MaxVNI {
		return fmt.Errorf("etcd overlay: publish %s: %w", formatMAC(e.MAC), ErrBadVNI)
	}
	if e.VTEP.IsValid() && e.VTEP.Unmap() != s.local {
		return fmt.Errorf("etcd overlay: publish %s at %v: %w", formatMAC(e.MAC), e.VTEP, ErrNotLocal)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	key := macKey(s.prefix, e.VNI, e.MAC)
	ent := &ownEntry{val: encodeRecord(s.local, e.IP, time.Now())}
	s.own.entries[key] = ent
	delete(s.own.dels, key)
	_, err := s.putLocked(ctx, key, ent, false)
	return err
}

// Withdraw removes our entry for mac in vni, but only if it is still the
// one we wrote: if another host has published the MAC since (it moved
// there), its entry stays.
func (s *Syncer) Withdraw(ctx context.Context, vni uint32, mac [6]byte) error {
	if vni > MaxVNI {
		return fmt.Errorf("etcd overlay: withdraw %s: %w", formatMAC(mac), ErrBadVNI)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.withdrawLocked(ctx, macKey(s.prefix, vni, mac))
}

// withdrawLocked forgets key and deletes it from etcd if it still holds the
// value we wrote.
func (s *Syncer) withdrawLocked(ctx context.Context, key string) error {
	e, ok := s.own.entries[key]
	if !ok {
		return nil
	}
	delete(s.own.entries, key)
	s.own.dels[key] = e.val
	return s.deleteLocked(ctx, key)
}

// putLocked writes e at key under our lease. Unconditional puts (a caller's
// Join or Publish, or an entry never written yet) overwrite anything. A
// conditional put (re-publishing after a lease loss or a failed write)
// only recreates a missing key or rewrites our own value; if another host
// wrote the key meanwhile, the entry is superseded and dropped.
// With no lease held, the write is left for the next grant.
func (s *Syncer) putLocked(ctx context.Context, key string, e *ownEntry, cond bool) (superseded bool, err error) {
	if s.own.lease == 0 {
		s.own.dirty = true
		return false, nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	put := clientv3.OpPut(key, string(e.val), clientv3.WithLease(s.own.lease))
	if !cond || !e.written {
		_, err = s.cli.Do(ctx, put)
	} else {
		var resp *clientv3.TxnResponse
		resp, err = s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(put).
			Else(clientv3.OpTxn(
				[]clientv3.Cmp{clientv3.Compare(clientv3.Value(key), "=", string(e.val))},
				[]clientv3.Op{put}, nil)).
			Commit()
		if err == nil && !resp.Succeeded && !resp.Responses[0].GetResponseTxn().GetSucceeded() {
			delete(s.own.entries, key)
			s.stats.superseded.Add(1)
			s.log.Info("entry superseded by another host, not re-published", "key", key)
			return true, nil
		}
	}
	if err != nil {
		s.own.dirty = true
		s.stats.writeErrors.Add(1)
		return false, fmt.Errorf("etcd overlay: put %s: %w", key, err)
	}
	e.written = true
	s.stats.writes.Add(1)
	return false, nil
}

// deleteLocked deletes a withdrawn key if it still holds the value we
// wrote. It needs no lease.
func (s *Syncer) deleteLocked(ctx context.Context, key string) error {
	val, ok := s.own.dels[key]
	if !ok {
		return nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", string(val))).
		Then(clientv3.OpDelete(key)).
		Else(clientv3.OpGet(key, clientv3.WithCountOnly())).
		Commit()
	if err != nil {
		s.own.dirty = true
		s.stats.writeErrors.Add(1)
		return fmt.Errorf("etcd overlay: delete %s: %w", key, err)
	}
	delete(s.own.dels, key)
	switch {
	case resp.Succeeded:
		s.stats.writes.Add(1)
	case resp.Responses[0].GetResponseRange().GetCount() > 0:
		s.stats.superseded.Add(1)
		s.log.Info("withdrawn entry was superseded by another host, left in place", "key", key)
	}
	return nil
}

// republishLocked retries pending deletes and (re-)writes every entry under
// the current lease.
func (s *Syncer) republishLocked(ctx context.Context) {
	s.own.dirty = false
	for key := range s.own.dels {
		if ctx.Err() != nil {
			return
		}
		if err := s.deleteLocked(ctx, key); err != nil && ctx.Err() == nil {
			s.log.Warn("withdraw failed, will retry", "err", err)
		}
	}
	for key, e := range s.own.entries {
		if ctx.Err() != nil {
			return
		}
		if _, err := s.putLocked(ctx, key, e, true); err != nil && ctx.Err() == nil {
			s.log.Warn("publish failed, will retry", "err", err)
		}
	}
}

// leaseLoop grants a lease, publishes everything under it, keeps it alive,
// and starts over when it is lost, until ctx is done.
func (s *Syncer) leaseLoop(ctx context.Context) {
	var bo backoff
	for ctx.Err() == nil {
		id, ka, err := s.grant(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("lease grant failed, retrying", "err", err)
				bo.wait(ctx)
			}
			continue
		}
		bo.reset()
		s.stats.leases.Add(1)
		s.log.Info("lease granted", "lease", fmt.Sprintf("%x", int64(id)), "ttl", s.ttl)
		s.wmu.Lock()
		s.own.lease = id
		s.republishLocked(ctx)
		s.wmu.Unlock()

		s.keepAlive(ctx, id, ka)
		if ctx.Err() != nil {
			return // Run revokes the lease
		}
		s.log.Warn("lease lost, re-granting and re-publishing", "lease", fmt.Sprintf("%x", int64(id)))
		s.wmu.Lock()
		if s.own.lease == id {
			s.own.lease = 0
		}
		s.wmu.Unlock()
	}
}

func (s *Syncer) grant(ctx context.Context) (clientv3.LeaseID, <-chan *clientv3.LeaseKeepAliveResponse, error) {
	gctx, cancel := s.opCtx(ctx)
	defer cancel()
	lr, err := s.cli.Grant(gctx, s.ttl)
	if err != nil {
		return 0, nil, fmt.Errorf("etcd overlay: grant lease: %w", err)
	}
	ka, err := s.cli.KeepAlive(ctx, lr.ID)
	if err != nil {
		_, _ = s.cli.Revoke(gctx, lr.ID)
		return 0, nil, fmt.Errorf("etcd overlay: keep lease alive: %w", err)
	}
	return lr.ID, ka, nil
}

// keepAlive drains the keep-alive responses until the channel closes (lease
// expired or revoked, etcd unreachable for a TTL, or ctx done), retrying
// failed writes meanwhile.
func (s *Syncer) keepAlive(ctx context.Context, id clientv3.LeaseID, ka <-chan *clientv3.LeaseKeepAliveResponse) {
	tick := time.NewTicker(retryEvery)
	defer tick.Stop()
	for {
		select {
		case _, ok := <-ka:
			if !ok {
				return
			}
		case <-tick.C:
			s.wmu.Lock()
			if s.own.dirty && s.own.lease == id {
				s.republishLocked(ctx)
			}
			s.wmu.Unlock()
		}
	}
}

// revoke gives the lease back so that our entries vanish from etcd now
// rather than after the TTL. Run calls it on the way out.
func (s *Syncer) revoke() {
	s.wmu.Lock()
	id := s.own.lease
	s.own.lease = 0
	s.wmu.Unlock()
	if id == 0 {
		return
	}
	ctx, cancel := s.opCtx(context.Background())
	defer cancel()
	if _, err := s.cli.Revoke(ctx, id); err != nil {
		s.log.Warn("lease revoke failed; entries expire after the TTL", "err", err)
		return
	}
	s.log.Info("lease revoked", "lease", fmt.Sprintf("%x", int64(id)))
}

package etcdblocks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/vecswitch/vecswitch/ipam"
)

// DefaultPrefix is the key prefix used when Config.Prefix is empty.
const DefaultPrefix = "/vecswitch/ipam/"

// DefaultDialTimeout bounds connecting to etcd when Config.DialTimeout is zero.
const DefaultDialTimeout = 5 * time.Second

// maxHostLen bounds a host id (a key's value).
const maxHostLen = 256

// maxClaimAttempts bounds the reads and transactions of one Claim: each
// lost attempt means another host claimed a block (or changed the pool)
// in between, so the system progresses; this many in a row is a fault.
const maxClaimAttempts = 100

// The errors of the package that are not about reaching etcd. Each is
// also one of ipam's kinds (errors.Is), so a caller tells a conflict
// (permanent: ipam.ErrInvalid, ipam.ErrInUse), a full range
// (ipam.ErrExhausted) and etcd out of reach (none of them) apart.
var (
	// ErrPoolMismatch: etcd holds another definition of the pool. It is
	// ipam.ErrInvalid.
	ErrPoolMismatch error = &kindError{"pool defined differently in etcd", ipam.ErrInvalid}
	// ErrPoolOverlap: etcd holds a pool of another name whose subnet
	// overlaps the pool's (hosts would hand out the same addresses from
	// both). It is ipam.ErrInvalid.
	ErrPoolOverlap error = &kindError{"pool overlaps another pool in etcd", ipam.ErrInvalid}
	// ErrExhausted: every block of the range is held by some host. It
	// wraps ipam.ErrExhausted.
	ErrExhausted = fmt.Errorf("every block is claimed: %w", ipam.ErrExhausted)
	// ErrNotHeld: the block is held by another host (Release of it, or
	// ClaimBlock of it). It is ipam.ErrInUse.
	ErrNotHeld error = &kindError{"block held by another host", ipam.ErrInUse}
)

// kindError is a sentinel error that is also an ipam kind.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

// Config configures Claims.
type Config struct {
	// Endpoints are the etcd client URLs (required).
	Endpoints []string
	// Prefix is the key prefix; DefaultPrefix when empty. A trailing "/"
	// is added if missing.
	Prefix string
	// Host is this host's id (required): the value of the block keys it
	// holds. It must be stable across restarts.
	Host string
	// DialTimeout bounds connecting to etcd; DefaultDialTimeout when zero.
	// Each call is bounded by its context.
	DialTimeout time.Duration
	// Logger receives claims and releases (info) and ignored keys
	// (debug); nil discards. The etcd client's own (zap) log is discarded.
	Logger *slog.Logger
}

// Claims holds this host's claims on address blocks in etcd. Its methods
// are safe for concurrent use (etcd serializes the transactions).
type Claims struct {
	cli    *clientv3.Client
	prefix string
	host   string
	log    *slog.Logger
	reach  reach // fail fast while etcd is out of reach (reach.go)
}

// New connects to etcd.
func New(cfg Config) (*Claims, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcdblocks: no etcd endpoint")
	}
	if cfg.Host == "" || len(cfg.Host) > maxHostLen {
		return nil, fmt.Errorf("etcdblocks: host id %q: want 1 to %d characters", cfg.Host, maxHostLen)
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	dialTO := cfg.DialTimeout
	if dialTO <= 0 {
		dialTO = DefaultDialTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: dialTO,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcdblocks: etcd client: %w", err)
	}
	return &Claims{cli: cli, prefix: prefix, host: cfg.Host, log: log.With("host_id", cfg.Host)}, nil
}

// Close closes the etcd client. Blocks stay claimed.
func (c *Claims) Close() error { return c.cli.Close() }

// canonical validates a copy of p and returns it with its JSON.
func canonical(p ipam.Pool) (ipam.Pool, []byte, error) {
	p = p.Clone()
	if err := p.Validate(); err != nil {
		return p, nil, err
	}
	data, err := json.Marshal(p)
	return p, data, err
}

// checkStored compares the stored definition of a pool with p.
func checkStored(p ipam.Pool, stored []byte) error {
	var s ipam.Pool
	if err := json.Unmarshal(stored, &s); err != nil {
		return fmt.Errorf("%w: pool %s: the stored definition does not parse: %v", ErrPoolMismatch, p.Name, err)
	}
	if !s.Equal(p) {
		return fmt.Errorf("%w: pool %s: another host defined it as %s; this host has %s", ErrPoolMismatch, p.Name, stored, mustJSON(p))
	}
	return nil
}

func mustJSON(p ipam.Pool) []byte {
	b, _ := json.Marshal(p)
	return b
}

// Register records the pool's definition in etcd if it is missing; if
// another definition is there, the error wraps ErrPoolMismatch. A pool
// of another name whose subnet overlaps p's is ErrPoolOverlap: the
// definitions are read and the new one put in one transaction that fails
// if any definition changed in between, so two hosts that register
// overlapping pools at once do not both succeed.
func (c *Claims) Register(ctx context.Context, p ipam.Pool) (err error) {
	if err := c.enter(); err != nil {
		return err
	}
	defer func() { c.leave(err) }()
	p, data, err := canonical(p)
	if err != nil {
		return err
	}
	for attempt := 0; attempt < maxClaimAttempts; attempt++ {
		resp, err := c.cli.Get(ctx, poolsPrefix(c.prefix), clientv3.WithPrefix())
		if err != nil {
			return fmt.Errorf("etcdblocks: register pool %s: read the pool definitions: %w", p.Name, err)
		}
		cmps, puts, err := c.poolGuard(p, data, resp.Kvs, resp.Header.Revision)
		if err != nil || len(puts) == 0 { // a conflict, or registered already
			return err
		}
		tx, err := c.cli.Txn(ctx).If(cmps...).Then(puts...).Commit()
		if err != nil {
			return fmt.Errorf("etcdblocks: register pool %s: %w", p.Name, err)
		}
		if tx.Succeeded {
			c.log.Info("address pool registered in etcd", "pool", p.Name)
			return nil
		}
		c.log.Debug("pool definitions changed while registering; reading again", "pool", p.Name)
	}
	return fmt.Errorf("etcdblocks: pool %s: not registered after %d lost races", p.Name, maxClaimAttempts)
}

// poolGuard checks p against the pool definitions read at revision rev
// (every key under <prefix>pools/) and returns what a transaction that
// relies on p's definition compares, and puts: when p is stored, that
// its key is unchanged; when it is missing, that it still is and that
// no definition changed since rev (so none that overlaps p appeared),
// and the put that creates it.
func (c *Claims) poolGuard(p ipam.Pool, data []byte, pools []*mvccpb.KeyValue, rev int64) ([]clientv3.Cmp, []clientv3.Op, error) {
	pk := poolKey(c.prefix, p.Name)
	for _, kv := range pools {
		if string(kv.Key) == pk {
			if err := checkStored(p, kv.Value); err != nil {
				return nil, nil, err
			}
			return []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(pk), "=", kv.ModRevision)}, nil, nil
		}
	}
	if err := c.checkOverlap(p, pools); err != nil {
		return nil, nil, err
	}
	return []clientv3.Cmp{
			clientv3.Compare(clientv3.CreateRevision(pk), "=", 0),
			clientv3.Compare(clientv3.ModRevision(poolsPrefix(c.prefix)), "<", rev+1).WithPrefix(),
		},
		[]clientv3.Op{clientv3.OpPut(pk, string(data))}, nil
}

// checkOverlap refuses p if a pool of another name in pools has a subnet
// that overlaps one of p's. A definition that does not parse is ignored
// (logged at debug level).
func (c *Claims) checkOverlap(p ipam.Pool, pools []*mvccpb.KeyValue) error {
	pk := poolKey(c.prefix, p.Name)
	for _, kv := range pools {
		if string(kv.Key) == pk {
			continue
		}
		var o ipam.Pool
		if err := json.Unmarshal(kv.Value, &o); err != nil {
			c.log.Debug("ignored a malformed pool definition", "key", string(kv.Key))
			continue
		}
		name := strings.TrimPrefix(string(kv.Key), poolsPrefix(c.prefix))
		for _, r := range p.Ranges {
			for _, or := range o.Ranges {
				if r.Subnet.Overlaps(or.Subnet) {
					return fmt.Errorf("%w: pool %s: subnet %s overlaps %s of pool %s, which hosts share through etcd: two pools must not hold the same addresses", ErrPoolOverlap, p.Name, r.Subnet, or.Subnet, name)
				}
			}
		}
	}
	return nil
}

// Owned lists the blocks this host holds in each range of p, indexed like
// p.Ranges, each sorted.
func (c *Claims) Owned(ctx context.Context, p ipam.Pool) (_ [][]netip.Prefix, err error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer func() { c.leave(err) }()
	p, _, err = canonical(p)
	if err != nil {
		return nil, err
	}
	resp, err := c.cli.Get(ctx, blocksPrefix(c.prefix, p.Name), clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcdblocks: read the blocks of pool %s: %w", p.Name, err)
	}
	out := make([][]netip.Prefix, len(p.Ranges))
	for _, kv := range resp.Kvs {
		if string(kv.Value) != c.host {
			continue
		}
		b, ok := c.parseKey(p.Name, string(kv.Key))
		if !ok {
			continue
		}
		i := slices.IndexFunc(p.Ranges, func(r ipam.Range) bool { return r.Subnet.Contains(b.Addr()) })
		if i < 0 || b.Bits() != p.BlockBits[i] {
			c.log.Debug("ignored a block of another shape", "pool", p.Name, "block", b)
			continue
		}
		out[i] = append(out[i], b)
	}
	for i := range out {
		slices.SortFunc(out[i], func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	}
	return out, nil
}

// parseKey parses a block key of pool; a key that does not parse is
// logged and ignored.
func (c *Claims) parseKey(pool, key string) (netip.Prefix, bool) {
	b, err := parseBlock(strings.TrimPrefix(key, blocksPrefix(c.prefix, pool)))
	if err != nil {
		c.log.Debug("ignored a malformed block key", "key", key)
		return netip.Prefix{}, false
	}
	return b, true
}

// Claim takes the first block of range i of p that no host holds and
// returns it. A lost race is retried with the next free block. When
// every block is held the error wraps ErrExhausted (and
// ipam.ErrExhausted); when etcd holds another definition of the pool it
// wraps ErrPoolMismatch.
func (c *Claims) Claim(ctx context.Context, p ipam.Pool, i int) (_ netip.Prefix, err error) {
	if err := c.enter(); err != nil {
		return netip.Prefix{}, err
	}
	defer func() { c.leave(err) }()
	p, data, err := canonical(p)
	if err != nil {
		return netip.Prefix{}, err
	}
	if i < 0 || i >= len(p.Ranges) {
		return netip.Prefix{}, fmt.Errorf("etcdblocks: pool %s has no range %d: %w", p.Name, i, ipam.ErrInvalid)
	}
	bp := blocksPrefix(c.prefix, p.Name)
	for attempt := 0; attempt < maxClaimAttempts; attempt++ {
		// One snapshot of the pool definitions and the block keys.
		snap, err := c.cli.Txn(ctx).Then(
			clientv3.OpGet(poolsPrefix(c.prefix), clientv3.WithPrefix()),
			clientv3.OpGet(bp, clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		).Commit()
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("etcdblocks: read the blocks of pool %s: %w", p.Name, err)
		}
		cmps, puts, err := c.poolGuard(p, data, snap.Responses[0].GetResponseRange().Kvs, snap.Header.Revision)
		if err != nil {
			return netip.Prefix{}, err
		}
		var held []netip.Prefix
		for _, kv := range snap.Responses[1].GetResponseRange().Kvs {
			if b, ok := c.parseKey(p.Name, string(kv.Key)); ok {
				held = append(held, b)
			}
		}
		b, ok := firstFree(p, i, held)
		if !ok {
			return netip.Prefix{}, fmt.Errorf("pool %s: all %d blocks of %s are held by hosts: %w", p.Name, len(held), p.Ranges[i].Subnet, ErrExhausted)
		}
		key := blockKey(c.prefix, p.Name, b)
		resp, err := c.cli.Txn(ctx).
			If(append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))...).
			Then(append(puts, clientv3.OpPut(key, c.host))...).
			Commit()
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("etcdblocks: claim block %s of pool %s: %w", b, p.Name, err)
		}
		if resp.Succeeded {
			c.log.Info("address block claimed", "pool", p.Name, "block", b)
			return b, nil
		}
		c.log.Debug("lost a race for a block; trying again", "pool", p.Name, "block", b)
	}
	return netip.Prefix{}, fmt.Errorf("etcdblocks: pool %s: no block claimed after %d lost races", p.Name, maxClaimAttempts)
}

// ClaimBlock claims block b of range i of p for this host: the block of
// an address asked for by name, which this host may hand out only from
// its own blocks. A block this host holds already is not an error; one
// that another host holds (or that a key of another block length
// covers) is ErrNotHeld, naming the holder. Like Claim, it checks the
// pool's definition and creates it when it is missing, in the same
// transaction as the block.
func (c *Claims) ClaimBlock(ctx context.Context, p ipam.Pool, i int, b netip.Prefix) (err error) {
	if err := c.enter(); err != nil {
		return err
	}
	defer func() { c.leave(err) }()
	p, data, err := canonical(p)
	if err != nil {
		return err
	}
	if i < 0 || i >= len(p.Ranges) {
		return fmt.Errorf("etcdblocks: pool %s has no range %d: %w", p.Name, i, ipam.ErrInvalid)
	}
	if !b.IsValid() || b != b.Masked() || b.Bits() != p.BlockBits[i] || !p.Ranges[i].Subnet.Contains(b.Addr()) {
		return fmt.Errorf("etcdblocks: %s is not a block of %s in pool %s (blocks are /%d): %w", b, p.Ranges[i].Subnet, p.Name, p.BlockBits[i], ipam.ErrInvalid)
	}
	key, bp := blockKey(c.prefix, p.Name, b), blocksPrefix(c.prefix, p.Name)
	for attempt := 0; attempt < maxClaimAttempts; attempt++ {
		snap, err := c.cli.Txn(ctx).Then(
			clientv3.OpGet(poolsPrefix(c.prefix), clientv3.WithPrefix()),
			clientv3.OpGet(bp, clientv3.WithPrefix()),
		).Commit()
		if err != nil {
			return fmt.Errorf("etcdblocks: read the blocks of pool %s: %w", p.Name, err)
		}
		cmps, puts, err := c.poolGuard(p, data, snap.Responses[0].GetResponseRange().Kvs, snap.Header.Revision)
		if err != nil {
			return err
		}
		for _, kv := range snap.Responses[1].GetResponseRange().Kvs {
			h, ok := c.parseKey(p.Name, string(kv.Key))
			switch {
			case !ok || !h.Overlaps(b):
				continue
			case h == b && string(kv.Value) == c.host:
				return nil // this host's already
			case h == b:
				return fmt.Errorf("%w: block %s of pool %s is held by host %q", ErrNotHeld, b, p.Name, kv.Value)
			}
			return fmt.Errorf("%w: block %s of pool %s is under the key of %s, held by host %q", ErrNotHeld, b, p.Name, h, kv.Value)
		}
		resp, err := c.cli.Txn(ctx).
			If(append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))...).
			Then(append(puts, clientv3.OpPut(key, c.host))...).
			Commit()
		if err != nil {
			return fmt.Errorf("etcdblocks: claim block %s of pool %s: %w", b, p.Name, err)
		}
		if resp.Succeeded {
			c.log.Info("address block claimed", "pool", p.Name, "block", b)
			return nil
		}
		c.log.Debug("block or pool changed while claiming; reading again", "pool", p.Name, "block", b)
	}
	return fmt.Errorf("etcdblocks: pool %s: block %s not claimed after %d lost races", p.Name, b, maxClaimAttempts)
}

// firstFree returns the first block of range i that overlaps none of
// held and is not wholly excluded. It steps over held blocks one by one,
// so its cost is bounded by the number of held blocks (and excluded
// ones), not by the size of the range.
func firstFree(p ipam.Pool, i int, held []netip.Prefix) (netip.Prefix, bool) {
	r := p.Ranges[i]
	exact := make(map[netip.Prefix]bool, len(held))
	var odd []netip.Prefix // held prefixes of another length
	for _, h := range held {
		if h.Bits() == p.BlockBits[i] {
			exact[h] = true
		} else if h.Overlaps(r.Subnet) {
			odd = append(odd, h)
		}
	}
	last := p.BlockOf(i, r.End)
	for b := p.BlockOf(i, r.Start); ; {
		free := !exact[b] &&
			!slices.ContainsFunc(odd, b.Overlaps) &&
			!slices.ContainsFunc(r.Exclude, func(x netip.Prefix) bool { return x.Bits() <= b.Bits() && x.Contains(b.Addr()) })
		if free {
			return b, true
		}
		next := lastAddr(b).Next()
		if b == last || !next.IsValid() {
			return netip.Prefix{}, false
		}
		b = netip.PrefixFrom(next, b.Bits())
	}
}

// Release gives back a block this host holds. A block that no host holds
// is not an error; one another host holds is ErrNotHeld, and stays.
func (c *Claims) Release(ctx context.Context, pool string, block netip.Prefix) (err error) {
	if err := c.enter(); err != nil {
		return err
	}
	defer func() { c.leave(err) }()
	if err := ipam.CheckName(pool); err != nil {
		return err
	}
	if !block.IsValid() || block != block.Masked() {
		return fmt.Errorf("etcdblocks: block %s: not a masked prefix: %w", block, ipam.ErrInvalid)
	}
	key := blockKey(c.prefix, pool, block)
	resp, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", c.host)).
		Then(clientv3.OpDelete(key)).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return fmt.Errorf("etcdblocks: release block %s of pool %s: %w", block, pool, err)
	}
	if resp.Succeeded {
		c.log.Info("address block released", "pool", pool, "block", block)
		return nil
	}
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		return fmt.Errorf("%w: block %s of pool %s is held by host %q, not this one", ErrNotHeld, block, pool, kvs[0].Value)
	}
	return nil
}

// ReleaseAll gives back every block of the pool this host holds, then
// deletes the pool's definition if no host holds a block of it any more.
func (c *Claims) ReleaseAll(ctx context.Context, pool string) (err error) {
	if err := c.enter(); err != nil {
		return err
	}
	defer func() { c.leave(err) }()
	if err := ipam.CheckName(pool); err != nil {
		return err
	}
	bp := blocksPrefix(c.prefix, pool)
	resp, err := c.cli.Get(ctx, bp, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("etcdblocks: read the blocks of pool %s: %w", pool, err)
	}
	var errs []error
	for _, kv := range resp.Kvs {
		if string(kv.Value) != c.host {
			continue
		}
		key := string(kv.Key)
		_, err := c.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.Value(key), "=", c.host)).
			Then(clientv3.OpDelete(key)).
			Commit()
		if err != nil {
			errs = append(errs, fmt.Errorf("etcdblocks: release %s: %w", key, err))
			continue
		}
		c.log.Info("address block released", "pool", pool, "key", key)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	pk := poolKey(c.prefix, pool)
	del, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(bp), "=", 0).WithPrefix()).
		Then(clientv3.OpDelete(pk)).
		Commit()
	if err != nil {
		return fmt.Errorf("etcdblocks: delete the definition of pool %s: %w", pool, err)
	}
	if del.Succeeded {
		c.log.Info("address pool definition deleted from etcd (no host holds a block)", "pool", pool)
	}
	return nil
}

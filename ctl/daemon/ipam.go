package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vecswitch/vecswitch/ctl"
	"github.com/vecswitch/vecswitch/ipam"
)

// Address management. Pools and their leases are part of the stored
// configuration, so a lease is as durable as the port that uses it: the
// lease, the port and the endpoint are committed in one store write, and a
// crash leaves all three or none. Each pool has an ipam.Allocator, built
// from the stored leases at start and changed only under the daemon's
// lock, together with the configuration; a command that fails after
// allocating gives the address back before it returns.
//
// With several hosts (Config.Claims, vswitchd --etcd), a host hands out
// addresses only from blocks of the pool it has claimed in etcd
// (ipam/etcdblocks), claiming another block when its blocks are full, so
// two hosts never give out the same address without talking per address.
// A wanted address too: the host claims the block that holds it, and
// refuses it when another host holds that block. Errors from etcd are
// permanent conflicts (invalid, exists) or etcd out of reach
// (unavailable: try again); pool-add and pool-del need etcd, and
// pool-del changes nothing while it is out of reach, so that no block or
// definition is left there for good.

// BlockClaims claims address blocks for this host in a store the hosts
// share (ipam/etcdblocks.Claims implements it). Its errors are ipam's
// kinds when they are conflicts with what other hosts stored
// (ipam.ErrInvalid: the pool is defined differently or overlaps another;
// ipam.ErrInUse: the block is another host's) or a full range
// (ipam.ErrExhausted); any other error means the store is out of reach.
type BlockClaims interface {
	Register(ctx context.Context, p ipam.Pool) error
	Owned(ctx context.Context, p ipam.Pool) ([][]netip.Prefix, error)
	Claim(ctx context.Context, p ipam.Pool, i int) (netip.Prefix, error)
	ClaimBlock(ctx context.Context, p ipam.Pool, i int, b netip.Prefix) error
	Release(ctx context.Context, pool string, block netip.Prefix) error
	ReleaseAll(ctx context.Context, pool string) error
}

// claimTimeout bounds one exchange with the block store.
const claimTimeout = 10 * time.Second

// ipamState is the daemon's in-memory index of the pools. Guarded by mu.
type ipamState struct {
	allocs map[string]*ipam.Allocator
	// blocks are the blocks this host holds per pool and range (multi-host
	// only), loaded from the store at first use.
	blocks map[string][][]netip.Prefix
	claims BlockClaims
	// timeout bounds one exchange with claims (claimTimeout; tests
	// shorten it).
	timeout time.Duration
	// blocksStore keeps held, the copy of the blocks this host holds
	// (ipam_blocks.go); fromCopy marks the pools whose blocks came from
	// it because etcd was out of reach.
	blocksStore *Store
	held        map[string][][]netip.Prefix
	fromCopy    map[string]bool
}

// buildAllocators indexes a configuration's pools; an inconsistent one
// (an address leased twice, a lease outside its pool) is an error, so a
// damaged stored configuration is not used (restoreState).
func buildAllocators(pools []PoolState) (map[string]*ipam.Allocator, error) {
	m := make(map[string]*ipam.Allocator, len(pools))
	for _, ps := range pools {
		if _, dup := m[ps.Name]; dup {
			return nil, fmt.Errorf("pool %s is defined twice", ps.Name)
		}
		p := ps.Pool
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("pool %s: %w", ps.Name, err)
		}
		a, err := ipam.NewAllocator(p, ps.Leases)
		if err != nil {
			return nil, err // names the pool
		}
		m[ps.Name] = a
	}
	return m, nil
}

func (s *State) pool(name string) *PoolState {
	for i := range s.Pools {
		if s.Pools[i].Name == name {
			return &s.Pools[i]
		}
	}
	return nil
}

// syncLeases copies a pool's leases from its allocator into next.
func (d *Daemon) syncLeases(next *State, pool string) {
	if ps := next.pool(pool); ps != nil {
		ps.Leases = d.ipam.allocs[pool].Leases()
	}
}

// claimsErr reports an error of the block store: a conflict with what
// other hosts stored is permanent (invalid, or exists for an address in
// another host's block), a full range is exhausted, and anything else is
// the store out of reach: unavailable, try again.
func claimsErr(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...) + ": " + err.Error()
	switch {
	case errors.Is(err, ipam.ErrInvalid), errors.Is(err, ipam.ErrNotInRange):
		return ctl.Errorf(ctl.CodeInvalid, "%s", msg)
	case errors.Is(err, ipam.ErrInUse):
		return ctl.Errorf(ctl.CodeExists, "%s", msg)
	case errors.Is(err, ipam.ErrExhausted):
		return ctl.Errorf(ctl.CodeExhausted, "%s", msg)
	}
	return ctl.Errorf(ctl.CodeUnavail, "%s (the shared store is out of reach; try again)", msg)
}

// claimsContext bounds one exchange with the block store.
func (d *Daemon) claimsContext() (context.Context, context.CancelFunc) {
	t := d.ipam.timeout
	if t <= 0 {
		t = claimTimeout
	}
	return context.WithTimeout(context.Background(), t)
}

func ipamErr(err error) error {
	var ce *ctl.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, ipam.ErrExhausted):
		return ctl.Errorf(ctl.CodeExhausted, "%v", err)
	case errors.Is(err, ipam.ErrInUse), errors.Is(err, ipam.ErrConflict):
		return ctl.Errorf(ctl.CodeExists, "%v", err)
	case errors.Is(err, ipam.ErrInvalid), errors.Is(err, ipam.ErrNotInRange):
		return ctl.Errorf(ctl.CodeInvalid, "%v", err)
	}
	return ctl.Errorf(ctl.CodeInternal, "%v", err)
}

// definePool adds p to next (and its allocator), or checks that the pool
// of that name has the same definition. Caller holds mu; on a later
// failure the caller drops the allocator with forgetPool if it was new.
func (d *Daemon) definePool(next *State, p ipam.Pool) (added bool, err error) {
	if err := p.Validate(); err != nil {
		return false, ipamErr(err)
	}
	if cur := next.pool(p.Name); cur != nil {
		if !cur.Pool.Equal(p) {
			return false, ctl.Errorf(ctl.CodeExists, "pool %s exists with another definition (%s); delete it first or use another name", p.Name, poolText(cur.Pool))
		}
		return false, nil
	}
	for _, other := range next.Pools {
		if r, o, ok := overlapping(p, other.Pool); ok {
			return false, ctl.Errorf(ctl.CodeInvalid, "pool %s: subnet %s overlaps %s of pool %s", p.Name, r, o, other.Name)
		}
	}
	a, err := ipam.NewAllocator(p, nil)
	if err != nil {
		return false, ipamErr(err)
	}
	if d.ipam.claims != nil {
		ctx, cancel := d.claimsContext()
		defer cancel()
		if err := d.ipam.claims.Register(ctx, p); err != nil {
			return false, claimsErr(err, "pool %s in etcd", p.Name)
		}
	}
	d.ipam.allocs[p.Name] = a
	next.Pools = append(next.Pools, PoolState{Pool: p})
	return true, nil
}

func (d *Daemon) forgetPool(name string) {
	delete(d.ipam.allocs, name)
	delete(d.ipam.blocks, name)
	delete(d.ipam.fromCopy, name)
	d.noteBlocks(name, nil)
}

// dropNewPool undoes definePool for a command that failed: the pool's
// allocator goes and, with block claims, the blocks claimed for it and
// its definition in the store (kept while another host holds a block of
// it). Caller holds mu.
func (d *Daemon) dropNewPool(name string) {
	d.forgetPool(name)
	if d.ipam.claims == nil {
		return
	}
	ctx, cancel := d.claimsContext()
	defer cancel()
	if err := d.ipam.claims.ReleaseAll(ctx, name); err != nil {
		d.log.Warn("address pool of a failed command not removed from etcd", "pool", name, "err", err)
	}
}

func overlapping(a, b ipam.Pool) (netip.Prefix, netip.Prefix, bool) {
	for _, r := range a.Ranges {
		for _, o := range b.Ranges {
			if r.Subnet.Overlaps(o.Subnet) {
				return r.Subnet, o.Subnet, true
			}
		}
	}
	return netip.Prefix{}, netip.Prefix{}, false
}

func poolText(p ipam.Pool) string {
	s := ""
	for i, r := range p.Ranges {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %s-%s gateway %s", r.Subnet, r.Start, r.End, r.Gateway)
	}
	return s
}

// allocate leases addresses of pool to owner (the lease it holds, if it
// has one). With block claims it claims blocks as needed: another block
// when this host's are full, and the block of a wanted address outside
// them, which another host may hold (then the address is refused). On
// failure, blocks it claimed that hold no lease are given back.
func (d *Daemon) allocate(pool, owner string, want []netip.Addr) (ipam.Lease, error) {
	a := d.ipam.allocs[pool]
	if a == nil {
		return ipam.Lease{}, ctl.Errorf(ctl.CodeNotFound, "no address pool %s (add it: vsctl ipam/pool-add %s subnet=CIDR)", pool, pool)
	}
	if d.ipam.claims == nil {
		l, err := a.Allocate(owner, want, nil)
		return l, ipamErr(err)
	}
	// The allocator's pool: a pool this command defined is not in d.state.
	p := a.Pool()
	ctx, cancel := d.claimsContext()
	defer cancel()
	blocks, err := d.poolBlocks(ctx, p)
	if err != nil {
		return ipam.Lease{}, err
	}
	claimed := false
	fail := func(err error) (ipam.Lease, error) {
		if claimed {
			d.releaseEmptyBlocks(pool)
		}
		return ipam.Lease{}, err
	}
	for range 1 + 1024 {
		l, err := a.Allocate(owner, want, blocks)
		i, need := ipam.NeedBlockRange(err)
		if !need {
			if err != nil {
				return fail(ipamErr(err))
			}
			return l, nil
		}
		if b, addr, ok := ipam.WantedBlock(err); ok {
			if err := d.ipam.claims.ClaimBlock(ctx, p, i, b); err != nil {
				if errors.Is(err, ipam.ErrInUse) {
					return fail(claimsErr(err, "pool %s: %s is in another host's block, and only that host hands it out", pool, addr))
				}
				return fail(claimsErr(err, "pool %s: claim block %s for %s in etcd", pool, b, addr))
			}
			if !slices.Contains(blocks[i], b) {
				blocks[i] = append(blocks[i], b)
				claimed = true
				d.noteBlocks(pool, blocks)
				d.log.Info("address block claimed", "pool", pool, "block", b, "for", addr)
			}
			continue
		}
		b, err := d.ipam.claims.Claim(ctx, p, i)
		if err != nil {
			if errors.Is(err, ipam.ErrExhausted) {
				return fail(ctl.Errorf(ctl.CodeExhausted, "pool %s: every block of %s is held by some host, and this host's are full: %v", pool, p.Ranges[i].Subnet, err))
			}
			return fail(claimsErr(err, "pool %s: claim a block in etcd", pool))
		}
		d.log.Info("address block claimed", "pool", pool, "block", b)
		blocks[i] = append(blocks[i], b)
		claimed = true
		d.noteBlocks(pool, blocks)
	}
	return fail(ctl.Errorf(ctl.CodeInternal, "pool %s: no address after claiming blocks", pool))
}

// poolBlocks returns the blocks this host holds: from etcd at first use,
// or, while etcd is out of reach, from the copy in the state directory
// (ipam_blocks.go) until etcd answers.
func (d *Daemon) poolBlocks(ctx context.Context, p ipam.Pool) ([][]netip.Prefix, error) {
	cur, ok := d.ipam.blocks[p.Name]
	if ok && !d.ipam.fromCopy[p.Name] {
		return cur, nil
	}
	b, err := d.ipam.claims.Owned(ctx, p)
	if err != nil {
		if ok {
			return cur, nil // still from the copy
		}
		c := fitBlocks(p, d.ipam.held[p.Name])
		if c == nil {
			return nil, claimsErr(err, "pool %s: read this host's blocks from etcd", p.Name)
		}
		d.log.Warn("etcd is out of reach: handing out addresses from the blocks this host held when it last wrote them down", "pool", p.Name, "file", d.ipam.blocksStore.Path(), "err", err)
		b = c
		d.ipam.fromCopy[p.Name] = true
	} else {
		delete(d.ipam.fromCopy, p.Name)
		if ok {
			// Blocks claimed meanwhile are in etcd's list.
			d.log.Info("etcd is back: this host's blocks read from it", "pool", p.Name)
		}
	}
	for len(b) < len(p.Ranges) {
		b = append(b, nil)
	}
	d.ipam.blocks[p.Name] = b
	if !d.ipam.fromCopy[p.Name] {
		d.noteBlocks(p.Name, b)
	}
	return b, nil
}

// releaseEmptyBlocks gives back the blocks of pool with no lease in them
// (multi-host only; errors are logged: a block kept is only unused space).
func (d *Daemon) releaseEmptyBlocks(pool string) {
	a, blocks := d.ipam.allocs[pool], d.ipam.blocks[pool]
	if d.ipam.claims == nil || a == nil {
		return
	}
	// Out of the copy before the release is sent (ipam_blocks.go), back
	// in if it fails.
	type empty struct {
		i int
		b netip.Prefix
	}
	var gone []empty
	for i := range blocks {
		blocks[i] = slices.DeleteFunc(blocks[i], func(b netip.Prefix) bool {
			if a.UsedInBlock(i, b) > 0 {
				return false
			}
			gone = append(gone, empty{i, b})
			return true
		})
	}
	if len(gone) == 0 {
		return
	}
	d.noteBlocks(pool, blocks)
	ctx, cancel := d.claimsContext()
	defer cancel()
	kept := false
	for _, e := range gone {
		if err := d.ipam.claims.Release(ctx, pool, e.b); err != nil {
			d.log.Warn("address block not given back", "pool", pool, "block", e.b, "err", err)
			blocks[e.i] = append(blocks[e.i], e.b)
			kept = true
		}
	}
	if kept {
		d.noteBlocks(pool, blocks)
	}
}

// ipamCommands are the ipam/ commands.
func (d *Daemon) ipamHandlers() map[string]func([]string) (any, error) {
	return map[string]func([]string) (any, error){
		"ipam/pool-add": d.poolAdd, "ipam/pool-del": d.poolDel, "ipam/show": d.ipamShow, "ipam/release": d.ipamRelease,
		"ipam/alloc": d.ipamAlloc,
	}
}

func (d *Daemon) poolAdd(args []string) (any, error) {
	opts, err := ctl.ParseOptions(args[1:])
	if err != nil {
		return nil, err
	}
	p, err := ipam.ParsePool(args[0], opts)
	if err != nil {
		return nil, ipamErr(err)
	}
	next := d.state.clone()
	added, err := d.definePool(&next, p)
	if err != nil || !added {
		return nil, err
	}
	if err := d.commit(next); err != nil {
		d.dropNewPool(p.Name)
		return nil, err
	}
	return nil, nil
}

func (d *Daemon) poolDel(args []string) (any, error) {
	ps := d.state.pool(args[0])
	if ps == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no address pool %s", args[0])
	}
	if len(ps.Leases) > 0 {
		return nil, ctl.Errorf(ctl.CodeInvalid, "%s", d.leaseHolders(ps))
	}
	if d.ipam.claims != nil {
		// The blocks and the definition go from etcd first: a pool
		// deleted here while etcd is out of reach would leave them there
		// for good (no host would give them back, and the name would stay
		// taken). So without etcd nothing changes here and the command
		// fails as unavailable, to be tried again.
		ctx, cancel := d.claimsContext()
		defer cancel()
		delete(d.ipam.blocks, args[0]) // read again at next use: some may be gone
		delete(d.ipam.fromCopy, args[0])
		d.noteBlocks(args[0], nil)
		if err := d.ipam.claims.ReleaseAll(ctx, args[0]); err != nil {
			return nil, claimsErr(err, "pool %s: give back its blocks and definition in etcd (nothing changed)", args[0])
		}
	}
	next := d.state.clone()
	next.Pools = slices.DeleteFunc(next.Pools, func(p PoolState) bool { return p.Name == args[0] })
	if err := d.commit(next); err != nil {
		return nil, err // the pool stays; its next allocation claims a block again
	}
	d.forgetPool(args[0])
	return nil, nil
}

// leaseHolders says what holds a pool's leases and what frees them: the
// endpoints' (endpoint/del) and the others, made by ipam/alloc or left by
// an endpoint gone (ipam/release).
func (d *Daemon) leaseHolders(ps *PoolState) string {
	var eps, others []string
	for _, l := range ps.Leases {
		if strings.HasPrefix(l.Owner, "cni/") && d.ownerHasEndpoint(l.Owner) {
			eps = append(eps, l.Owner)
		} else {
			others = append(others, l.Owner)
		}
	}
	plural := func(n int) string {
		if n == 1 {
			return ""
		}
		return "s"
	}
	var parts []string
	if len(eps) > 0 {
		parts = append(parts, fmt.Sprintf("%d of endpoints (the first: %s): remove them with endpoint/del (what CNI DEL sends)", len(eps), eps[0]))
	}
	if len(others) > 0 {
		parts = append(parts, fmt.Sprintf("%d not an endpoint's, from ipam/alloc (the first: %s): free them with ipam/release %s owner=OWNER", len(others), others[0], ps.Name))
	}
	return fmt.Sprintf("pool %s has %d lease%s: %s", ps.Name, len(ps.Leases), plural(len(ps.Leases)), strings.Join(parts, "; "))
}

func (d *Daemon) ipamShow(args []string) (any, error) {
	out := []ctl.PoolView{}
	for _, ps := range d.state.Pools {
		if len(args) > 0 && ps.Name != args[0] {
			continue
		}
		v := ctl.PoolView{Name: ps.Name}
		a := d.ipam.allocs[ps.Name]
		stats := a.Stats()
		blocks := d.ipam.blocks[ps.Name]
		for i, r := range ps.Ranges {
			rv := ctl.RangeView{Subnet: r.Subnet.String(), Start: r.Start.String(), End: r.End.String()}
			if r.Gateway.IsValid() {
				rv.Gateway = r.Gateway.String()
			}
			for _, x := range r.Exclude {
				rv.Exclude = append(rv.Exclude, x.String())
			}
			if d.ipam.claims != nil && i < len(ps.BlockBits) {
				rv.BlockBits = ps.BlockBits[i]
			}
			if i < len(stats) {
				rv.Size, rv.Used = stats[i].Size, stats[i].Used
			}
			if i < len(blocks) {
				for _, b := range blocks[i] {
					rv.Blocks = append(rv.Blocks, b.String())
				}
			}
			v.Ranges = append(v.Ranges, rv)
		}
		if len(args) > 0 {
			v.Leases = []ctl.LeaseView{}
			for _, l := range a.Leases() {
				v.Leases = append(v.Leases, leaseView(l))
			}
		}
		out = append(out, v)
	}
	if len(args) > 0 && len(out) == 0 {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no address pool %s", args[0])
	}
	return out, nil
}

func (d *Daemon) ipamAlloc(args []string) (any, error) {
	owner := args[1]
	if err := checkOwner(owner); err != nil {
		return nil, err
	}
	opts, err := ctl.ParseOptions(args[2:])
	if err != nil {
		return nil, err
	}
	if err := ctl.CheckOptions(opts, "ips"); err != nil {
		return nil, err
	}
	want, err := parseAddrs("ips", splitList(opts["ips"]))
	if err != nil {
		return nil, err
	}
	a := d.ipam.allocs[args[0]]
	held := false
	if a != nil {
		_, held = a.Lease(owner)
	}
	l, err := d.allocate(args[0], owner, want) // says so if the pool is missing
	if err != nil {
		return nil, err
	}
	if !held {
		next := d.state.clone()
		d.syncLeases(&next, args[0])
		if err := d.commit(next); err != nil {
			a.Release(owner)
			return nil, err
		}
	}
	return leaseView(l), nil
}

// checkOwner refuses lease owner names ipam/alloc may not use.
func checkOwner(owner string) error {
	if owner == "" || len(owner) > 512 || strings.ContainsAny(owner, "\x00\n") {
		return ctl.Errorf(ctl.CodeInvalid, "owner %q: want 1 to 512 characters", owner)
	}
	if strings.HasPrefix(owner, "cni/") {
		return ctl.Errorf(ctl.CodeInvalid, "owner %q: cni/... names are the endpoints' (endpoint/add)", owner)
	}
	return nil
}

func leaseView(l ipam.Lease) ctl.LeaseView {
	v := ctl.LeaseView{Owner: l.Owner, Addrs: []string{}}
	for _, ad := range l.Addrs {
		v.Addrs = append(v.Addrs, ad.String())
	}
	return v
}

func (d *Daemon) ipamRelease(args []string) (any, error) {
	a := d.ipam.allocs[args[0]]
	if a == nil {
		return nil, ctl.Errorf(ctl.CodeNotFound, "no address pool %s", args[0])
	}
	owner, byOwner := strings.CutPrefix(args[1], "owner=")
	if !byOwner {
		addr, err := netip.ParseAddr(args[1])
		if err != nil {
			return nil, ctl.Errorf(ctl.CodeInvalid, "%q is neither an address nor owner=OWNER", args[1])
		}
		var ok bool
		if owner, ok = a.Holder(addr); !ok {
			return nil, nil // not leased: nothing to do
		}
	}
	if strings.HasPrefix(owner, "cni/") && d.ownerHasEndpoint(owner) {
		return nil, ctl.Errorf(ctl.CodeInvalid, "the lease of %s is an endpoint's: remove the endpoint instead (CNI DEL, or endpoint/del)", owner)
	}
	l, ok := a.Release(owner)
	if !ok {
		return nil, nil
	}
	next := d.state.clone()
	d.syncLeases(&next, args[0])
	if err := d.commit(next); err != nil {
		a.Allocate(owner, leaseAddrs(l), nil) // back as it was
		return nil, err
	}
	d.releaseEmptyBlocks(args[0])
	return nil, nil
}

func leaseAddrs(l ipam.Lease) []netip.Addr {
	out := make([]netip.Addr, len(l.Addrs))
	for i, p := range l.Addrs {
		out[i] = p.Addr()
	}
	return out
}

// checkEndpointState rejects a stored configuration whose pools or
// endpoints are inconsistent (an address leased twice, an endpoint
// without its port), so that restoreState falls back to the previous copy.
func checkEndpointState(st *State) error {
	if _, err := buildAllocators(st.Pools); err != nil {
		return fmt.Errorf("address pools: %w", err)
	}
	return checkEndpointRefs(st)
}

// checkEndpointRefs rejects a configuration with an endpoint whose port
// or pool is not configured, an endpoint stored twice, or two endpoints
// sharing one port (commit refuses to store one; the next start would
// set it aside). Two endpoints on one port loaded, and then neither
// could be deleted: the first delete removes the port the other names.
func checkEndpointRefs(st *State) error {
	ports := make(map[string]bool, len(st.Ports))
	for _, p := range st.Ports {
		ports[p.Name] = true
	}
	type key struct{ network, container, ifname string }
	seen := make(map[key]bool, len(st.Endpoints))
	portOf := make(map[string]string, len(st.Endpoints)) // port: the endpoint on it
	for _, ep := range st.Endpoints {
		id := ep.Network + "/" + ep.ContainerID + "/" + ep.IfName
		k := key{ep.Network, ep.ContainerID, ep.IfName}
		if seen[k] {
			return fmt.Errorf("endpoint %s is stored twice", id)
		}
		seen[k] = true
		if other, dup := portOf[ep.Port]; dup {
			return fmt.Errorf("endpoints %s and %s share the port %s", other, id, ep.Port)
		}
		portOf[ep.Port] = id
		if !ports[ep.Port] {
			return fmt.Errorf("endpoint %s/%s/%s: its port %s is not configured", ep.Network, ep.ContainerID, ep.IfName, ep.Port)
		}
		if ep.Pool != "" && st.pool(ep.Pool) == nil {
			return fmt.Errorf("endpoint %s/%s/%s: its pool %s is not configured", ep.Network, ep.ContainerID, ep.IfName, ep.Pool)
		}
	}
	return nil
}

// startIPAM indexes the stored pools and, with block claims, makes the
// claims client for this host's ID.
func (d *Daemon) startIPAM(claims func(string) (BlockClaims, error)) error {
	allocs, err := buildAllocators(d.state.Pools)
	if err != nil {
		return fmt.Errorf("ctl: address pools: %w", err) // checked by restoreState already
	}
	d.ipam.allocs = allocs
	if claims == nil {
		return nil
	}
	if d.ipam.claims, err = claims(d.state.HostID); err != nil {
		return fmt.Errorf("ctl: address block claims: %w", err)
	}
	d.ipam.blocksStore = newCacheStore(d.store.dir, BlocksFile)
	d.ipam.held = d.loadBlocksCopy()
	d.ipam.fromCopy = map[string]bool{}
	d.log.Info("multi-host address management", "host_id", d.state.HostID)
	return nil
}

// stopIPAM leaves etcd cleanly: blocks that hold no lease go back to the
// pool for other hosts (a block with leases stays this host's: its
// containers keep their addresses across a restart). Caller holds mu.
func (d *Daemon) stopIPAM() {
	if d.ipam.claims == nil {
		return
	}
	for name := range d.ipam.blocks {
		d.releaseEmptyBlocks(name)
	}
	if c, ok := d.ipam.claims.(io.Closer); ok {
		c.Close()
	}
	d.ipam.claims = nil
}

package dockernet

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vecswitch/vecswitch/ctl"
)

// Address spaces this IPAM driver answers with: pools of different
// spaces may overlap (they get different pool IDs).
const (
	LocalAddressSpace  = "vecswitch-local"
	GlobalAddressSpace = "vecswitch-global"
	gatewayRequest     = "com.docker.network.gateway"
)

// Where a network created without --subnet gets one: the first /24 (/64)
// of these that overlaps no pool of vswitchd.
var (
	defaultPool4 = netip.MustParsePrefix("10.210.0.0/16")
	defaultPool6 = netip.MustParsePrefix("fd56:7673::/48")
)

func (d *Driver) requestPool(req *requestPoolRequest) (any, error) {
	if req.Pool == "" && req.SubPool != "" {
		return nil, fmt.Errorf("a sub-pool (--ip-range) needs a pool (--subnet)")
	}
	d.reconcile()
	var pfx netip.Prefix
	var err error
	if req.Pool == "" {
		if pfx, err = d.freeDefaultPool(req.V6); err != nil {
			return nil, err
		}
	} else if pfx, err = netip.ParsePrefix(req.Pool); err != nil || pfx != pfx.Masked() {
		return nil, fmt.Errorf("pool %q: want a network in CIDR form (e.g. 10.1.0.0/24)", req.Pool)
	}
	opts := []string{"subnet=" + pfx.String()}
	if req.SubPool != "" {
		sub, err := netip.ParsePrefix(req.SubPool)
		if err != nil || sub != sub.Masked() || !pfx.Contains(sub.Addr()) || sub.Bits() < pfx.Bits() {
			return nil, fmt.Errorf("sub-pool %q: want a network inside %s", req.SubPool, pfx)
		}
		start, end, err := subPoolRange(pfx, sub)
		if err != nil {
			return nil, err
		}
		opts = append(opts, "range="+start.String()+"-"+end.String())
	}
	id := poolID(req.AddressSpace, pfx.String(), req.SubPool)
	if p, ok := d.st.Pools[id]; ok {
		p.Refs++
		if err := d.save(); err != nil {
			p.Refs--
			return nil, err
		}
		return requestPoolResponse{PoolID: id, Pool: pfx.String(), Data: map[string]string{}}, nil
	}
	// A pool of this ID and no record: an earlier attempt made it and
	// died before storing; take it over.
	if err := d.cfg.Caller.Call("ipam/pool-add", append([]string{id}, opts...), nil); err != nil && !isCode(err, ctl.CodeExists) {
		if strings.Contains(err.Error(), " overlaps ") {
			return nil, fmt.Errorf("%w%s", err, d.overlapHint(pfx))
		}
		return nil, err
	}
	d.st.Pools[id] = &pool{ID: id, AddressSpace: req.AddressSpace, Pool: pfx.String(), SubPool: req.SubPool, Refs: 1}
	if err := d.save(); err != nil {
		delete(d.st.Pools, id)
		d.cfg.Caller.Call("ipam/pool-del", []string{id}, nil)
		return nil, err
	}
	d.log.Info("docker pool requested", "pool", id, "subnet", pfx, "sub_pool", req.SubPool)
	return requestPoolResponse{PoolID: id, Pool: pfx.String(), Data: map[string]string{}}, nil
}

// subPoolRange is the range of addresses a sub-pool (--ip-range) hands
// out: the sub-pool less the subnet's network address and, for IPv4, its
// broadcast address, which Docker's own IPAM never hands out either (so
// --ip-range equal to --subnet is the whole subnet). The pool's gateway
// may fall in the range: vswitchd never leases it.
func subPoolRange(subnet, sub netip.Prefix) (start, end netip.Addr, err error) {
	start, end = sub.Addr(), lastAddr(sub)
	if start == subnet.Addr() {
		start = start.Next()
	}
	if end == lastAddr(subnet) && end.Is4() {
		end = end.Prev()
	}
	if end.Less(start) {
		return start, end, fmt.Errorf("sub-pool %s: no address to hand out (the subnet's network and broadcast addresses are not handed out)", sub)
	}
	return start, end, nil
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// freeDefaultPool is the first /24 (IPv6: /64) of the default range that
// overlaps no pool vswitchd has.
func (d *Driver) freeDefaultPool(v6 bool) (netip.Prefix, error) {
	var pools []ctl.PoolView
	if err := d.cfg.Caller.Call("ipam/show", nil, &pools); err != nil {
		return netip.Prefix{}, err
	}
	var used []netip.Prefix
	for _, p := range pools {
		for _, r := range p.Ranges {
			if s, err := netip.ParsePrefix(r.Subnet); err == nil {
				used = append(used, s)
			}
		}
	}
	base, bits := defaultPool4, 24
	if v6 {
		base, bits = defaultPool6, 64
	}
	cand := netip.PrefixFrom(base.Addr(), bits)
	for base.Contains(cand.Addr()) {
		free := true
		for _, u := range used {
			if u.Overlaps(cand) {
				free = false
				break
			}
		}
		if free {
			return cand, nil
		}
		next := lastAddr(cand).Next()
		if !next.IsValid() {
			break
		}
		cand = netip.PrefixFrom(next, bits)
	}
	return netip.Prefix{}, fmt.Errorf("no free /%d left in %s: give the network a --subnet", bits, base)
}

func (d *Driver) releasePool(req *releasePoolRequest) (any, error) {
	p, ok := d.st.Pools[req.PoolID]
	if !ok {
		return nil, fmt.Errorf("no pool %s", req.PoolID)
	}
	if p.Refs > 1 {
		p.Refs--
		if err := d.save(); err != nil {
			p.Refs++
			return nil, err
		}
		return struct{}{}, nil
	}
	// Docker releases every address before the pool; what is left was
	// leased by a call whose answer never reached Docker (vswitchd died).
	var pools []ctl.PoolView
	if err := d.cfg.Caller.Call("ipam/show", []string{p.ID}, &pools); err == nil && len(pools) == 1 {
		for _, l := range pools[0].Leases {
			if strings.HasPrefix(l.Owner, "docker/"+p.ID+"/") {
				d.cfg.Caller.Call("ipam/release", []string{p.ID, "owner=" + l.Owner}, nil)
			}
		}
	}
	if err := d.cfg.Caller.Call("ipam/pool-del", []string{p.ID}, nil); err != nil && !isCode(err, ctl.CodeNotFound) {
		return nil, err
	}
	delete(d.st.Pools, p.ID)
	if err := d.save(); err != nil {
		return nil, err
	}
	d.log.Info("docker pool released", "pool", p.ID, "subnet", p.Pool)
	return struct{}{}, nil
}

// poolView is vswitchd's view of a pool (one range: Docker's pools are
// of one family).
func (d *Driver) poolView(id string) (ctl.RangeView, netip.Prefix, error) {
	if _, ok := d.st.Pools[id]; !ok {
		return ctl.RangeView{}, netip.Prefix{}, fmt.Errorf("no pool %s", id)
	}
	var pools []ctl.PoolView
	if err := d.cfg.Caller.Call("ipam/show", []string{id}, &pools); err != nil {
		return ctl.RangeView{}, netip.Prefix{}, err
	}
	if len(pools) != 1 || len(pools[0].Ranges) != 1 {
		return ctl.RangeView{}, netip.Prefix{}, fmt.Errorf("pool %s: vswitchd shows %d pools", id, len(pools))
	}
	r := pools[0].Ranges[0]
	subnet, err := netip.ParsePrefix(r.Subnet)
	return r, subnet, err
}

func (d *Driver) requestAddress(req *requestAddressRequest) (any, error) {
	r, subnet, err := d.poolView(req.PoolID)
	if err != nil {
		return nil, err
	}
	var want netip.Addr
	if req.Address != "" {
		if want, err = netip.ParseAddr(req.Address); err != nil || !subnet.Contains(want) {
			return nil, fmt.Errorf("address %q: not an address of %s", req.Address, subnet)
		}
	}
	// The gateway: the pool's own (never handed out) unless another is
	// asked for, which is then leased like any address.
	if req.Options["RequestAddressType"] == gatewayRequest && (!want.IsValid() || want.String() == r.Gateway) {
		gw, err := netip.ParseAddr(r.Gateway)
		if err != nil {
			return nil, fmt.Errorf("pool %s has no gateway", req.PoolID)
		}
		return requestAddressResponse{Address: netip.PrefixFrom(gw, subnet.Bits()).String(), Data: map[string]string{}}, nil
	}
	if want.IsValid() && want.String() == r.Gateway {
		return nil, fmt.Errorf("address %s is the network's gateway (pool %s keeps it for the gateway, never for a container): give the container another address", want, req.PoolID)
	}
	args := []string{req.PoolID, "docker/" + req.PoolID + "/" + randomHex()}
	if want.IsValid() {
		args = append(args, "ips="+want.String())
	}
	var lease ctl.LeaseView
	if err := d.cfg.Caller.Call("ipam/alloc", args, &lease); err != nil {
		return nil, err
	}
	if len(lease.Addrs) != 1 {
		return nil, fmt.Errorf("pool %s leased %v", req.PoolID, lease.Addrs)
	}
	return requestAddressResponse{Address: lease.Addrs[0], Data: map[string]string{}}, nil
}

func (d *Driver) releaseAddress(req *releaseAddressRequest) (any, error) {
	r, subnet, err := d.poolView(req.PoolID)
	if err != nil {
		return nil, err
	}
	a, err := netip.ParseAddr(strings.TrimSpace(req.Address))
	if err != nil || !subnet.Contains(a) {
		return nil, fmt.Errorf("address %q: not an address of %s", req.Address, subnet)
	}
	if a.String() == r.Gateway {
		return struct{}{}, nil // the pool's own gateway was never leased
	}
	if err := d.cfg.Caller.Call("ipam/release", []string{req.PoolID, a.String()}, nil); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func randomHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

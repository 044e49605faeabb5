package etcdblocks

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// poolKey is <prefix>pools/<pool>.
func poolKey(prefix, pool string) string { return prefix + "pools/" + pool }

// poolsPrefix is <prefix>pools/, the range of every pool's definition.
func poolsPrefix(prefix string) string { return prefix + "pools/" }

// blocksPrefix is <prefix>blocks/<pool>/, the range of a pool's blocks.
func blocksPrefix(prefix, pool string) string { return prefix + "blocks/" + pool + "/" }

// blockKey is <prefix>blocks/<pool>/<address>-<bits>.
func blockKey(prefix, pool string, b netip.Prefix) string {
	return blocksPrefix(prefix, pool) + formatBlock(b)
}

// formatBlock writes a block as <address>-<bits> (a key element cannot
// hold the '/' of CIDR notation).
func formatBlock(b netip.Prefix) string {
	return b.Addr().String() + "-" + strconv.Itoa(b.Bits())
}

var errMalformed = errors.New("not <address>-<bits> of a masked prefix")

// parseBlock reads the last element of a block key. Only the canonical
// form parses (the address as netip prints it, the length in decimal
// without leading zeros, no host bits), so one block has one key.
func parseBlock(s string) (netip.Prefix, error) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return netip.Prefix{}, errMalformed
	}
	a, err := netip.ParseAddr(s[:i])
	if err != nil || a.Zone() != "" || a.Is4In6() || a.String() != s[:i] {
		return netip.Prefix{}, errMalformed
	}
	bits, err := strconv.Atoi(s[i+1:])
	if err != nil || strconv.Itoa(bits) != s[i+1:] {
		return netip.Prefix{}, errMalformed
	}
	b := netip.PrefixFrom(a, bits)
	if !b.IsValid() || b != b.Masked() {
		return netip.Prefix{}, errMalformed
	}
	return b, nil
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for bit := p.Bits(); bit < len(b)*8; bit++ {
		b[bit/8] |= 0x80 >> (bit % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

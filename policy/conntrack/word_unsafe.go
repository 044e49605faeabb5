//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package conntrack

import (
	"sync/atomic"
	"unsafe"
)

// On a little-endian machine a Key's last 8 bytes (SrcPort, DstPort,
// Zone, Proto, Flags, in this order) are its fifth word as packWord4
// makes it, so word4 is one load instead of five loads and four shifts
// (it is computed for every packet's hash and compared on every lookup).
// The init check keeps the layout honest.

func init() {
	var k Key
	if unsafe.Offsetof(k.SrcPort) != 32 || unsafe.Sizeof(k) != 40 {
		panic("conntrack: Key layout changed")
	}
	k = Key{SrcPort: 0x0102, DstPort: 0x0304, Zone: 0x0506, Proto: 7, Flags: 8}
	if k.word4() != k.packWord4() {
		panic("conntrack: Key word layout is not little-endian")
	}
}

// word4 is the fifth word: ports, zone, protocol, flags.
func (k *Key) word4() uint64 { return *(*uint64)(unsafe.Pointer(&k.SrcPort)) }

func (k *Key) setWord4(w uint64) { *(*uint64)(unsafe.Pointer(&k.SrcPort)) = w }

// tags views a bucket as 16 32-bit words, slot i's tag (the high half of
// its word) at tagHalf+2*i, so that a tag search compares 32-bit words
// in place (one compare per slot) instead of loading, XORing and
// shifting each 64-bit one. Both views are atomic: the race detector
// sees every access as such.
func (b *bucket) tags() *[2 * bucketSlots]atomic.Uint32 {
	return (*[2 * bucketSlots]atomic.Uint32)(unsafe.Pointer(b))
}

const tagHalf = 1 // little-endian: the high half is the second

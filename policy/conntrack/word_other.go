//go:build !(386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm)

package conntrack

import (
	"sync/atomic"
	"unsafe"
)

// word4 is the fifth word: ports, zone, protocol, flags.
func (k *Key) word4() uint64 { return k.packWord4() }

func (k *Key) setWord4(w uint64) { k.unpackWord4(w) }

func (b *bucket) tags() *[2 * bucketSlots]atomic.Uint32 {
	return (*[2 * bucketSlots]atomic.Uint32)(unsafe.Pointer(b))
}

const tagHalf = 0 // big-endian: the high half is the first

//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package conntrack

import "unsafe"

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

//go:build !(386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm)

package conntrack

// word4 is the fifth word: ports, zone, protocol, flags.
func (k *Key) word4() uint64 { return k.packWord4() }

func (k *Key) setWord4(w uint64) { k.unpackWord4(w) }

//go:build !linux

package main

import (
	"fmt"
	"os"
)

// main on systems other than Linux: CNI attaches Linux network
// namespaces, and the CNI library's skel needs them.
func main() {
	fmt.Fprintln(os.Stderr, "vecswitch-cni: CNI plugins run on Linux only")
	os.Exit(1)
}

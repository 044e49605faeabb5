package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// neededCaps are the capabilities vswitchd uses: netlink and XDP
// (NET_ADMIN), AF_XDP sockets (NET_RAW), network namespaces and BPF maps
// (SYS_ADMIN), locked AF_XDP packet memory (IPC_LOCK).
var neededCaps = []struct {
	bit  uint
	name string
}{
	{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"},
	{unix.CAP_NET_RAW, "CAP_NET_RAW"},
	{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
	{unix.CAP_IPC_LOCK, "CAP_IPC_LOCK"},
}

// checkPrivileges refuses to run without the capabilities vswitchd needs
// (root has them): without them every port fails later, with errors that
// blame something else (a memlock limit).
func checkPrivileges() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading this process's capabilities: %w", err)
	}
	eff := uint64(data[0].Effective) | uint64(data[1].Effective)<<32
	var missing, all []string
	for _, c := range neededCaps {
		all = append(all, c.name)
		if eff&(1<<c.bit) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("needs root (or the capabilities %s): running as uid %d without %s",
		strings.Join(all, ", "), os.Geteuid(), strings.Join(missing, ", "))
}

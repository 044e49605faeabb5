// Package vmtest boots a real Linux guest under QEMU for tests: it finds
// an installed kernel (Debian's linux-image-amd64 in /boot), builds a
// small initramfs in Go (a newc cpio holding busybox, the kernel modules a
// test names with their dependencies, and the test's /init script), and
// runs qemu-system-x86_64 with a deadline, its serial console captured
// line by line so that a test can wait for what the guest prints.
//
// Nothing here knows about the switch: a test passes QEMU the device
// arguments it wants (a vhost-user NIC, for example) and talks to the
// guest's network from the host side. The cpio writer and the module
// resolution are portable; starting QEMU is Linux-only.
package vmtest

// Package sriovtest has stand-ins for the kernel pieces package sriov
// reads and drives, so its logic is tested without SR-IOV hardware: a
// recording fake of the sriov.Netlink interface (Recorder) and a fake sysfs
// tree in a temp dir (Sysfs).
package sriovtest

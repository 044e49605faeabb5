//go:build !linux

package vhostuser

func signal(fd int, buf *[8]byte) {}

func drain(fd int, buf *[8]byte) {}

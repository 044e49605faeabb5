//go:build darwin || freebsd

package pipeline

func adviseHuge([]byte) {}

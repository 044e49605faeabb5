//go:build !linux

package hugemem

import "unsafe"

func mapHuge(uintptr) (unsafe.Pointer, func()) { return nil, nil }

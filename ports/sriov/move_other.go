//go:build !linux

package sriov

func linkNameByIndex(string, int) (string, error) { return "", ErrNotSupported }

func (m *Moved) moveBack() (string, error) { return "", ErrNotSupported }

//go:build !linux

package tap

import "log/slog"

// Adopt fails: tap devices are Linux's.
func Adopt(string, Handover, []int, *slog.Logger) (*Port, error) { return nil, errNotSupported }

func closeFds([]int) error { return errNotSupported }

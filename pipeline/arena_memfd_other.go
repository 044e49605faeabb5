//go:build !linux

package pipeline

import (
	"errors"
	"os"
)

var errNoMemfd = errors.New("shared pools need memfd (Linux)")

func mapSharedArena(int) (*os.File, []byte, error)       { return nil, nil, errNoMemfd }
func adoptArena(*os.File, int) (*os.File, []byte, error) { return nil, nil, errNoMemfd }
func dupCloexec(int) (int, error)                        { return 0, errNoMemfd }

func inode(*os.File) uint64 { return 0 }

func shmemHuge() bool { return false }

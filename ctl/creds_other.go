//go:build !linux

package ctl

import (
	"errors"
	"net"
)

var errNoCreds = errors.New("ctl: the control socket server is not supported on this system (it needs Linux's SO_PEERCRED)")

func listenPrivate(string, int) (*net.UnixListener, error) { return nil, errNoCreds }

func peerAllowed(*net.UnixConn, int) (uint32, error) { return 0, errNoCreds }

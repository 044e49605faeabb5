//go:build !linux

package ctl

import (
	"errors"
	"net"
)

var errNoCreds = errors.New("ctl: the control socket needs Linux (SO_PEERCRED)")

func listenPrivate(string, int) (*net.UnixListener, error) { return nil, errNoCreds }

func peerAllowed(*net.UnixConn, int) (uint32, error) { return 0, errNoCreds }

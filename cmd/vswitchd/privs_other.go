//go:build !linux

package main

import "errors"

func checkPrivileges() error { return errors.New("vswitchd runs on Linux only") }

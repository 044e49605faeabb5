//go:build !linux

package main

import (
	"errors"
	"os"
)

func redirectStdio(*os.File) error { return errors.New("not supported on this system") }

func isJournal(*os.File) bool { return false }

func closeOnExecAll() {}

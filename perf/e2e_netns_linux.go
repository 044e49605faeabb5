package perf

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/internal/nettest/netnsdir"
)

// onThreadIn runs fn on a fresh OS thread inside the namespace ns (socket
// creation, XDP attachment by ifindex). The thread is switched back before
// it is released; if switching back fails it stays locked and dies with its
// goroutine, so no other goroutine ever runs in ns by accident.
func onThreadIn(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("perf: current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("perf: enter netns: %w", err)
			return // the thread's state is unknown: let it die
		}
		err = fn()
		if rerr := netns.Set(orig); rerr != nil {
			errc <- errors.Join(err, fmt.Errorf("perf: leave netns: %w", rerr))
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// newNamedNS creates a namespace bound at /run/netns/name, with
// /run/netns prepared as iproute2 does it (see netnsdir: otherwise an
// `ip netns add` elsewhere can bury the namespace where nothing removes it).
func newNamedNS(name string) (netns.NsHandle, error) { return netnsdir.NewNamed(name) }

// enterForGood moves the calling goroutine's thread into ns for the rest of
// its life, with a private mount namespace whose /sys shows ns's devices
// (as `ip netns exec` does): code that reads /sys/class/net (the AF_XDP
// port counts queues there) then sees the namespace's devices. The thread
// is never unlocked, so it exits with the goroutine. Nothing is mounted or
// unmounted outside the new mount namespace (it is a slave of the host's).
func enterForGood(ns netns.NsHandle) error {
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("perf: unshare mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("perf: make mounts slave: %w", err)
	}
	if err := netns.Set(ns); err != nil {
		return fmt.Errorf("perf: enter netns: %w", err)
	}
	if err := unix.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
		return fmt.Errorf("perf: mount sysfs for the namespace: %w", err)
	}
	return nil
}

// offMainThread runs fn on the calling goroutine unless it is on the
// process's main thread; then fn runs on a new goroutine, which cannot be
// scheduled on the main thread while this one holds it locked. For fn that
// leave their thread in another namespace for good (enterForGood): the
// main thread is never terminated when such a goroutine ends, only parked,
// and it would keep the namespace alive (and /proc/self would show it).
func offMainThread(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if unix.Gettid() != unix.Getpid() {
		return fn()
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return <-done
}

// pinThread binds the calling thread (locked by the caller) to one CPU.
func pinThread(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("perf: pin to CPU %d: %w", cpu, err)
	}
	return nil
}

package tap

import (
	"errors"
	"fmt"
	"os"

	"github.com/songgao/water"
	"golang.org/x/sys/unix"

	"github.com/vecswitch/vecswitch/ports/netdev"
)

// createDevice creates the tap device with one file descriptor per queue,
// moves it into cfg.Netns if set, and configures it. On failure it closes
// what it opened, which deletes the device.
func createDevice(cfg *Config) (fds []int, dev Device, err error) {
	name := cfg.Ifname
	if cfg.Netns != "" {
		name = netdev.RandomName("vstap")
	}
	// TUNSETIFF on the name of an existing tap would attach to that device
	// (and water would clear its persist flag) instead of failing.
	if name != "" {
		if _, err := netdev.LinkByName("", name); err == nil {
			return nil, dev, fmt.Errorf("create %s: %w", name, netdev.ErrExists)
		}
	}
	defer func() {
		if err != nil {
			closeFds(fds)
			fds = nil
		}
	}()
	// water.New leaks its descriptor when TUNSETIFF fails (it never closes
	// it on that path); the name check above makes that rare.
	for range cfg.Queues {
		if cfg.Offload {
			fd, got, err := openVnetTap(name, cfg.Queues > 1)
			if err != nil {
				return fds, dev, fmt.Errorf("create tap %q (queue %d): %w", name, len(fds), err)
			}
			name = got
			fds = append(fds, fd)
			continue
		}
		ifc, err := water.New(water.Config{
			DeviceType: water.TAP,
			PlatformSpecificParams: water.PlatformSpecificParams{
				Name: name, MultiQueue: cfg.Queues > 1,
			},
		})
		if err != nil {
			return fds, dev, fmt.Errorf("create tap %q (queue %d): %w", name, len(fds), err)
		}
		name = ifc.Name()
		fd, err := takeFd(ifc)
		if err != nil {
			return fds, dev, fmt.Errorf("tap %s: %w", name, err)
		}
		fds = append(fds, fd)
	}
	li, err := netdev.LinkByName("", name)
	if err != nil {
		return fds, dev, err
	}
	dev = Device{Ifname: name, Index: li.Index}
	if cfg.Netns != "" {
		if dev.Index, err = netdev.MoveLink(li.Index, cfg.Netns); err != nil {
			return fds, dev, err
		}
		dev.Netns = cfg.Netns
	}
	if err := netdev.Configure(dev.Netns, name, cfg.linkConfig()); err != nil {
		return fds, dev, err
	}
	if cfg.Ifname != "" {
		dev.Ifname = cfg.Ifname
	}
	if li, err = netdev.LinkByName(dev.Netns, dev.Ifname); err != nil {
		return fds, dev, err
	}
	dev.MAC = li.MAC
	return fds, dev, nil
}

// takeFd takes a private duplicate of the tap file descriptor water opened
// and closes water's *os.File. The data path then uses a plain descriptor
// in non-blocking mode with read(2) and write(2): no Go poller (water's
// file is registered with it, which would add an epoll wake-up per frame),
// no finalizer that could close it, and the queue stays attached because
// the open file lives on in the duplicate.
func takeFd(ifc *water.Interface) (int, error) {
	f, ok := ifc.ReadWriteCloser.(*os.File)
	if !ok {
		ifc.Close()
		return -1, fmt.Errorf("water returned %T, not *os.File", ifc.ReadWriteCloser)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		derr = err
	}
	f.Close()
	if derr != nil {
		return -1, fmt.Errorf("dup tap fd: %w", derr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("set tap fd non-blocking: %w", err)
	}
	return fd, nil
}

func closeFds(fds []int) error {
	var errs []error
	for _, fd := range fds {
		if err := unix.Close(fd); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// destroyDevice closes the queue descriptors, which deletes the tap (it is
// not persistent), then makes sure it is gone: if a link with its name and
// index is still there (someone set it persistent), it is deleted. A
// namespace or device already gone is fine.
func destroyDevice(fds []int, dev Device) error {
	err := closeFds(fds)
	if derr := netdev.DeleteLink(dev.Netns, dev.Ifname, dev.Index); derr != nil && !errors.Is(derr, netdev.ErrChanged) {
		err = errors.Join(err, derr)
	}
	return err
}

package netdev

import (
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// WatchLinks calls fn for every link event of the caller's namespace until
// stop is closed, from one goroutine of its own. Events can be lost when
// the kernel's socket buffer overflows (onErr then gets the error): a
// watcher that must not miss one also looks again from time to time
// (Links).
func WatchLinks(stop <-chan struct{}, fn func(LinkEvent), onErr func(error)) error {
	ch := make(chan netlink.LinkUpdate, 256)
	done := make(chan struct{})
	opts := netlink.LinkSubscribeOptions{ErrorCallback: onErr, ReceiveBufferSize: 1 << 20}
	if err := netlink.LinkSubscribeWithOptions(ch, done, opts); err != nil {
		return linkErr("watch links", "", "", err)
	}
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case u, ok := <-ch:
				if !ok {
					return
				}
				fn(LinkEvent{Name: u.Attrs().Name, Index: u.Attrs().Index, Gone: u.Header.Type == unix.RTM_DELLINK})
			}
		}
	}()
	return nil
}

// Links maps the name of every link of the caller's namespace to its
// index, in one dump.
func Links() (map[string]int, error) {
	ls, err := netlink.LinkList()
	if err != nil {
		return nil, linkErr("list links", "", "", err)
	}
	m := make(map[string]int, len(ls))
	for _, l := range ls {
		m[l.Attrs().Name] = l.Attrs().Index
	}
	return m, nil
}

// LinkIndex returns the index of link ifname in the caller's namespace,
// or an error wrapping ErrNotFound if there is none: one query, for a
// caller checking a link that a Links dump taken a moment before did not
// show.
func LinkIndex(ifname string) (int, error) {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return 0, linkErr("find", ifname, "", err)
	}
	return l.Attrs().Index, nil
}

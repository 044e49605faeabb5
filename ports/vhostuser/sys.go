package vhostuser

// sysOps are the system calls the control plane makes on what a front-end
// sends: map and unmap memory regions, close descriptors, make a kick
// eventfd non-blocking and watch it from an rx queue's poll descriptor.
// The port uses the real ones (sys_linux.go); tests and the fuzzer
// substitute fakes that map heap memory and track descriptors.
type sysOps interface {
	// mapRegion maps size bytes of fd at offset (read-write, shared) and
	// returns the whole mapping (to unmap) and the region within it.
	mapRegion(fd int, offset, size uint64) (mapping, data []byte, err error)
	unmap(mapping []byte) error
	closeFD(fd int)
	// prepareKick makes a kick eventfd non-blocking, so that draining it
	// never blocks a worker.
	prepareKick(fd int) error
	// watch adds a kick eventfd to an rx queue's poll descriptor; unwatch
	// removes it. pollFD < 0 means the queue has none.
	watch(pollFD, fd int) error
	unwatch(pollFD, fd int)
}

// closeFDs closes the descriptors no handler kept (those not -1).
func closeFDs(sys sysOps, fds []int) {
	for _, fd := range fds {
		if fd >= 0 {
			sys.closeFD(fd)
		}
	}
}

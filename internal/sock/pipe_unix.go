//go:build unix

package sock

import "golang.org/x/sys/unix"

// WaitHangup waits until the reader of a write-only pipe has gone (the
// descriptor reports POLLERR or POLLHUP) and returns nil. It returns an
// error once the descriptor is closed, and at once for a descriptor the
// poller cannot watch (a character device such as /dev/null, whose
// reader never goes away).
func (f *FD) WaitHangup() error {
	err := f.rc.Read(func(fd uintptr) bool { return hangup(int(fd)) })
	if err == nil {
		return nil
	}
	// Go's poller reports an event that is only an error (the reader
	// went away) as an error: ask the descriptor itself.
	if f.HungUp() {
		return nil
	}
	return err
}

// HungUp reports, without waiting, whether the reader of a write-only
// pipe has gone (the descriptor reports POLLERR or POLLHUP), as a poller
// loop's readiness said. It reports false once the descriptor is closed.
func (f *FD) HungUp() bool {
	gone := false
	if err := f.rc.Control(func(fd uintptr) { gone = hangup(int(fd)) }); err != nil {
		return false
	}
	return gone
}

// hangup polls fd once, without waiting.
func hangup(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		n, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0 && pfd[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0
	}
}

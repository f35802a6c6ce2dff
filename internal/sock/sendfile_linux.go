package sock

import "golang.org/x/sys/unix"

// SendFile waits until the descriptor is writable, then sends at most n
// bytes of the file src from *off with one sendfile(2), advancing *off,
// and returns the count the kernel took: at least one byte, or 0 at the
// end of the file, unless there is an error. A write deadline on the
// connection, or its close, ends the wait with the poller's error. One
// goroutine at a time may write (SendFile, TryWrite, Writev).
func (f *FD) SendFile(src int, off *int64, n int) (int, error) {
	var sent int
	var serr error
	err := f.rc.Write(func(fd uintptr) bool {
		for {
			k, err := unix.Sendfile(int(fd), src, off, n)
			switch err {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				if k <= 0 {
					return false // wait for writability
				}
				err = nil
			}
			sent, serr = max(k, 0), err
			return true
		}
	})
	if err != nil {
		return 0, err
	}
	return sent, serr
}

// Package poll is an epoll event loop: a few loop goroutines serve many
// descriptors, so that an idle descriptor holds no goroutine and no read
// buffer, only its registration.
//
// [Register] places a descriptor on one of the loops and returns its
// [Conn]; the loop calls the descriptor's [Handler] on the loop's own
// goroutine when the descriptor is readable (reading must first be turned
// on with [Conn.SetReading]) and, once asked with [Conn.WantWritable],
// when it is writable. [Conn.Post] runs a task on that goroutine;
// [Conn.Close] takes the descriptor off its loop and [Conn.Done] is closed
// once no callback can run any more.
//
//	c, err := poll.Register(fd, h) // h reads fd in OnReadable
//	if err != nil {
//		return err // errors.ErrUnsupported off Linux: use the other engine
//	}
//	c.SetReading(true)
//	...
//	c.Close()
//	<-c.Done() // not from inside a callback: that would wait for itself
//	unix.Close(fd)
//
// # Loops
//
// There are [SetLoops] loops (by default runtime.GOMAXPROCS(0), or the
// RXNET_LOOPS environment variable), each with its own epoll instance, its
// eventfd for wake-ups and one [BufSize] read buffer that every
// OnReadable on that loop shares. A descriptor stays on the loop that
// Register chose (the one with the fewest descriptors). The loops start
// with the first registration and stop (goroutines gone, epoll and eventfd
// closed) once the last registration has been closed; the next Register
// starts them again. epoll_wait waits without a timeout: there is no timer
// anywhere in the package.
//
// # Readiness
//
// Descriptors are registered edge-triggered (EPOLLET) for EPOLLIN,
// EPOLLOUT and EPOLLRDHUP. Since an edge is not repeated, the Conn
// remembers that its descriptor is readable until OnReadable reports it
// drained (more == false). While reading is on and the descriptor is
// readable, the loop calls OnReadable once per round, round-robin over
// its ready descriptors, so a busy descriptor does not starve the others;
// a descriptor whose OnReadable returned more == true is called again in
// the next round without a new edge. Turning reading back on for a
// descriptor that was left readable calls OnReadable again at once.
//
// Writes are the caller's: it writes on its own goroutine to the
// non-blocking descriptor, and when the kernel took less than asked it
// calls WantWritable; the loop calls OnWritable once after that, when the
// descriptor has been writable since (possibly at once, when an edge came
// between the short write and WantWritable: OnWritable may then find the
// descriptor full again, and arms again). No edge is lost.
//
// # Concurrency
//
// Callbacks of one loop run one at a time, on its goroutine, so a callback
// that blocks stalls every descriptor on that loop (as in asyncio) and
// none on the others. Any goroutine may call a Conn's methods, a callback
// included; none of them waits for the loop.
//
// # Errors
//
// A panic in a callback or a posted task is recovered: the loop drops that
// descriptor (as Close would), calls its Handler's OnDropped with a
// [*PanicError], and goes on serving the others. [Conn.Err] reports it
// after Done.
//
// # Platform support
//
// Linux only. Elsewhere [Supported] reports false and Register returns an
// error wrapping errors.ErrUnsupported.
package poll

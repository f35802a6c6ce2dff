package poll

import (
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
)

// BufSize is the size of a loop's read buffer, the buf that OnReadable
// gets.
const BufSize = 64 << 10

// Handler is what a loop calls for one registered descriptor. The loop
// calls its methods on the loop's goroutine, one at a time, never after
// the Conn's Done channel is closed. A method must not wait on the Conn's
// Done (that waits for itself) and should not block: a blocked callback
// stalls every descriptor on its loop.
type Handler interface {
	// OnReadable is called while reading is on (Conn.SetReading) and a
	// read would not block: data, the end of the stream or an error
	// (EPOLLIN, EPOLLRDHUP, EPOLLHUP or EPOLLERR) is pending. On the
	// write end of a pipe, which is never readable, it means the reader
	// has gone (EPOLLERR).
	//
	// The handler makes its own read, recvfrom or recvmsg, into buf if it
	// likes: buf is the loop's shared buffer of BufSize bytes, valid only
	// until OnReadable returns. It reports more == false only when the
	// descriptor is drained (a read returned EAGAIN, or a stream read
	// returned less than it asked for, or end of stream or an error was
	// taken), and more == true when it stopped early (for fairness after
	// one buffer, or because it turned reading off): the loop then calls
	// it again in a later round without waiting for a new edge. A wrong
	// false loses the rest until the next edge; a wrong true costs one
	// call that finds EAGAIN.
	OnReadable(buf []byte) (more bool)

	// OnWritable is called once after each Conn.WantWritable, when the
	// descriptor has been writable since the write that made the caller
	// arm it (or EPOLLERR or EPOLLHUP says a write would fail at once).
	// It may be spurious: a write in it can find EAGAIN again and call
	// WantWritable again.
	OnWritable()

	// OnDropped is called when the loop dropped the descriptor on its
	// own: a callback or a task posted on this Conn panicked, and err is
	// the *PanicError. It is the last callback, made after the descriptor
	// left epoll and just before Done is closed. A panic in OnDropped is
	// recovered and ignored.
	OnDropped(err error)
}

var loopsSetting atomic.Int64

// SetLoops sets how many loops the poller runs the next time it starts
// (with the first registration, or the first after all were closed); it
// does not change loops already running. n <= 0 restores the default:
// the RXNET_LOOPS environment variable when it holds a positive integer,
// else runtime.GOMAXPROCS(0). It returns the previous setting. Any
// goroutine may call it.
func SetLoops(n int) (previous int) {
	if n < 0 {
		n = 0
	}
	return int(loopsSetting.Swap(int64(n)))
}

// loopCount is the number of loops to start now.
func loopCount() int {
	if n := loopsSetting.Load(); n > 0 {
		return int(n)
	}
	if n, err := strconv.Atoi(os.Getenv("RXNET_LOOPS")); err == nil && n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

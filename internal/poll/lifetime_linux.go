package poll

import (
	"fmt"
	"os"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// group is the set of running loops and the count of live
// registrations: the loops start with the first registration and are
// told to exit when the last one has finished.
type group struct {
	mu    sync.Mutex
	loops []*loop // nil while none run
	live  int     // registrations not finished yet
}

// pollers is the process's one group.
var pollers group

// acquire counts one more registration and returns the loop it goes on:
// near while it runs, else the least busy, starting the loops if none
// run.
func (g *group) acquire(near *loop) (*loop, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.loops == nil {
		loops, err := startLoops(loopCount())
		if err != nil {
			return nil, err
		}
		g.loops = loops
	}
	best := g.loops[0]
	for _, l := range g.loops[1:] {
		if l.count < best.count {
			best = l
		}
	}
	if near != nil && slices.Contains(g.loops, near) {
		best = near
	}
	best.count++
	g.live++
	return best, nil
}

// release counts one registration of l less; after the last one it tells
// every loop to exit, and the next acquire starts new ones.
func (g *group) release(l *loop) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l.count--
	g.live--
	if g.live > 0 {
		return
	}
	for _, l := range g.loops {
		l.mu.Lock()
		l.stopping = true
		l.wakeLocked()
		l.mu.Unlock()
	}
	g.loops = nil
}

// parkable makes the epoll descriptor itself watched by Go's runtime
// poller (an epoll instance is readable while it has events ready), so
// that the loop goroutine, when idle, parks as a goroutine waiting on a
// socket does, instead of holding a thread in epoll_wait.
func (l *loop) parkable() error {
	if err := unix.SetNonblock(l.epfd, true); err != nil {
		return fmt.Errorf("poll: %w", os.NewSyscallError("fcntl", err))
	}
	f := os.NewFile(uintptr(l.epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		l.epfd = -1
		return fmt.Errorf("poll: %w", err)
	}
	l.file, l.rc = f, rc
	return nil
}

// startLoops makes n loops and starts their goroutines; on an error it
// closes what it made.
func startLoops(n int) ([]*loop, error) {
	loops := make([]*loop, 0, n)
	for range n {
		l, err := newLoop()
		if err != nil {
			for _, l := range loops {
				l.closeFDs()
			}
			return nil, err
		}
		loops = append(loops, l)
	}
	for _, l := range loops {
		go l.run()
	}
	return loops, nil
}

// newLoop makes a loop's epoll instance and eventfd.
func newLoop() (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("poll: %w", os.NewSyscallError("epoll_create1", err))
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("poll: %w", os.NewSyscallError("eventfd", err))
	}
	l := &loop{epfd: epfd, evfd: evfd, conns: make(map[uint64]*Conn)}
	l.epollFn = l.epollWait
	if err := l.parkable(); err != nil {
		l.closeFDs()
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	setEventID(&ev, wakeID)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		l.closeFDs()
		return nil, fmt.Errorf("poll: %w", os.NewSyscallError("epoll_ctl", err))
	}
	l.buf = make([]byte, BufSize)
	return l, nil
}

// exit ends the loop goroutine's life: it closes the epoll instance and
// the eventfd (under mu, away from a wake-up's write) and lets go of the
// buffer.
func (l *loop) exit() {
	l.mu.Lock()
	l.closeFDs()
	l.mu.Unlock()
	l.buf = nil
}

func (l *loop) closeFDs() {
	if l.file != nil {
		l.file.Close() // also takes it out of Go's poller
	} else {
		unix.Close(l.epfd)
	}
	unix.Close(l.evfd)
	l.epfd, l.evfd = -1, -1
}

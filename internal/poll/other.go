//go:build !linux

package poll

import (
	"errors"
	"fmt"
)

// errUnsupported is returned by Register where there is no epoll (it
// lives here, not in errors.go, because Linux never returns it).
var errUnsupported = fmt.Errorf("poll: the epoll engine needs Linux: %w", errors.ErrUnsupported)

// Supported reports whether this system has the poller: not this one.
// Any goroutine may call it.
func Supported() bool { return false }

// Conn is a registered descriptor; off Linux there is none.
type Conn struct{}

// Register returns an error wrapping errors.ErrUnsupported: the poller
// needs Linux. Any goroutine may call it.
func Register(fd int, h Handler) (*Conn, error) { return nil, errUnsupported }

// RegisterNear returns an error wrapping errors.ErrUnsupported, as
// Register. Any goroutine may call it.
func RegisterNear(fd int, h Handler, near *Conn) (*Conn, error) { return nil, errUnsupported }

// SetReading does nothing off Linux.
// HungUp reports false: nothing is registered off Linux.
func (c *Conn) HungUp() bool { return false }

func (c *Conn) SetReading(on bool) {}

// WantWritable does nothing off Linux.
func (c *Conn) WantWritable() {}

// Post reports false off Linux.
func (c *Conn) Post(f func()) bool { return false }

// InLoop reports false off Linux.
func (c *Conn) InLoop() bool { return false }

// Close does nothing off Linux.
func (c *Conn) Close() {}

// Done returns a closed channel off Linux.
func (c *Conn) Done() <-chan struct{} { return closedChan }

// Err returns nil off Linux.
func (c *Conn) Err() error { return nil }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Handoff reports false: nothing runs on a loop off Linux.
func (c *Conn) Handoff(after func()) bool { return false }

// LoopID reports 0: nothing runs on a loop off Linux.
func (c *Conn) LoopID() uint64 { return 0 }

// Closing reports true: nothing is registered off Linux.
func (c *Conn) Closing() bool { return true }

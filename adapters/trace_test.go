package adapters_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/goid"
)

// The recorders' shared parts: overlap counting and the trace.

// callGuard counts the callbacks of one protocol that overlap: one that
// runs while another runs on another goroutine (CC2). PauseWriting and
// ResumeWriting nested in a callback on the same goroutine (inside the
// Write that caused them, F8) are not overlaps.
type callGuard struct {
	owner    atomic.Uint64 // the goroutine running the outermost callback
	inflight atomic.Int32  // outermost callbacks running
	overlaps atomic.Int32
}

// enter notes a callback starting; it reports whether it is outermost.
func (g *callGuard) enter(nestable bool) bool {
	id := goid.Get()
	if g.owner.Load() == id {
		if !nestable {
			g.overlaps.Add(1)
		}
		return false
	}
	if g.inflight.Add(1) != 1 || !g.owner.CompareAndSwap(0, id) {
		g.overlaps.Add(1)
	}
	runtime.Gosched() // widen the window in which an overlap would show
	return true
}

func (g *callGuard) exit(outer bool) {
	if outer {
		g.owner.CompareAndSwap(goid.Get(), 0)
		g.inflight.Add(-1)
	}
}

// traceLog is a recorder's trace of callbacks; changed is closed and
// replaced at every record. mu also guards the recorder's own fields.
type traceLog[T any] struct {
	mu      sync.Mutex
	trace   []T
	changed chan struct{}
}

func newTraceLog[T any]() traceLog[T] { return traceLog[T]{changed: make(chan struct{})} }

func (l *traceLog[T]) record(e T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.trace = append(l.trace, e)
	close(l.changed)
	l.changed = make(chan struct{})
}

// snapshot returns a copy of the trace.
func (l *traceLog[T]) snapshot() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.trace...)
}

// waitFor waits until pred holds for the trace and returns the trace; it
// fails the test after failAfter.
func (l *traceLog[T]) waitFor(t testing.TB, what string, pred func([]T) bool) []T {
	t.Helper()
	timeout := time.NewTimer(failAfter)
	defer timeout.Stop()
	for {
		l.mu.Lock()
		tr, changed := append([]T(nil), l.trace...), l.changed
		l.mu.Unlock()
		if pred(tr) {
			return tr
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("timed out waiting for %s; trace: %v", what, tr)
			return nil
		}
	}
}

package main

// The server child's side of the soak (-soakcheck): it measures its
// baseline before it listens, and as it stops it lets the server settle
// and measures what the churn left behind.
//
// The baseline is taken before Listen, once the process has what it keeps
// for its whole life (the runtime's network poller, started by a
// throwaway listener; the goroutines that wait for stdin and signals),
// because settling closes the listener: Server.Shutdown is the signal
// that every accepted transport has closed its descriptor, and it stops
// accepting first. So the process must come back to exactly its state
// before it served: the same goroutines and descriptors, and the same
// live heap within soakHeapTolerance.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/rxnet/rxnet/internal/bufpool"
	"github.com/rxnet/rxnet/transport"
)

// soakSettleTimeout bounds the wait for every transport to close and
// every serving goroutine to end, once the clients are gone: past it the
// transports still open are a finding (Open), the server is closed, and
// the check goes on.
const soakSettleTimeout = time.Minute

// soakExitGrace bounds the wait for rxnet's goroutines to exit once
// every transport has delivered Lost (LC5 releases them after Lost: a
// goroutine that delivered Lost still has to return, and its end sends no
// signal). The goroutine count is polled every soakPoll, as goleak does;
// what is still there at the end is a leak. soakFreeGrace likewise bounds
// the wait for the cleanups of the transports the GC freed, which run on
// their own goroutine after the GC, with no signal either.
const (
	soakExitGrace = 10 * time.Second
	soakFreeGrace = 2 * time.Second
	soakPoll      = 10 * time.Millisecond
)

// soakHeapTolerance is how much more live heap than its baseline the
// settled server may hold without it counting as a leak: the server's
// own objects (the transport.Server, its counters, a TLS config's session
// ticket keys) and the runtime's small caches. A leak of 100 bytes per
// connection passes it after about 10,000 connections.
const soakHeapTolerance = 512 << 10

// soakWatching is set in a soak's server child: every transport the
// server accepts is then watched until the garbage collector frees it
// (watchTransport), and the check counts those still reachable.
var (
	soakWatching                       atomic.Bool
	transportsWatched, transportsFreed atomic.Int64
)

// watchTransport counts t, in a soak's server child, and arranges to
// count it again once nothing reaches it any more. Every rxnet transport
// is a pointer to its object: runtime.AddCleanup on that object runs only
// once the object is unreachable, so a transport that delivered Lost but
// is still held by something (the server, a timer, a pool) is never
// counted as freed.
func watchTransport(t transport.Transport) {
	v := reflect.ValueOf(t)
	if !soakWatching.Load() || v.Kind() != reflect.Pointer {
		return
	}
	transportsWatched.Add(1)
	runtime.AddCleanup((*byte)(v.UnsafePointer()), func(struct{}) { transportsFreed.Add(1) }, struct{}{})
}

// soakSnapshot is what the soak compares: the process's goroutines, open
// descriptors and live heap after a GC.
type soakSnapshot struct {
	Goroutines int
	FDs        int
	HeapAlloc  uint64 // less Pooled
	Pooled     uint64 // rxnet's free read buffers (bufpool.FreeBytes): bounded, not a leak
}

// soakCheck is what a soak's server child reports as it stops.
type soakCheck struct {
	Baseline soakSnapshot // before it listened
	Final    soakSnapshot // after the settle
	Server   transport.ServerStats
	Settled  bool   // every transport closed and every serving goroutine ended within soakSettleTimeout
	Open     int    // transports still open after soakSettleTimeout (then closed)
	Watched  int64  // transports accepted and watched (watchTransport)
	Held     int64  // of those, still reachable after the settle: held by something
	PeakRSS  int64  // VmHWM, bytes
	Stacks   string // the goroutine dump (debug=1, cut to 32 KiB) when goroutines were left
}

// Leaks returns what was left behind: goroutines and descriptors over the
// baseline, and the live heap's growth (negative when it shrank).
func (c *soakCheck) Leaks() (goroutines, fds int, heap int64) {
	return c.Final.Goroutines - c.Baseline.Goroutines, c.Final.FDs - c.Baseline.FDs,
		int64(c.Final.HeapAlloc) - int64(c.Baseline.HeapAlloc)
}

// Leaked reports whether anything was left behind, or a transport did not
// close.
func (c *soakCheck) Leaked() bool {
	g, fds, heap := c.Leaks()
	return !c.Settled || c.Held > 0 || g > 0 || fds > 0 || heap > soakHeapTolerance
}

// soakBaseline starts what the process keeps for its life (the
// runtime's network poller, with a throwaway listener; the goroutine that
// runs cleanups, with a first cleanup), starts watching the transports,
// then measures.
func soakBaseline() soakSnapshot {
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	// A cleanup on an object big enough to have a block of its own (a
	// tiny one may share its block and never be freed).
	ran := make(chan struct{})
	runtime.AddCleanup(new([64]byte), func(ran chan struct{}) { close(ran) }, ran)
	for deadline := time.Now().Add(soakExitGrace); time.Now().Before(deadline); {
		runtime.GC()
		select {
		case <-ran:
			deadline = time.Time{}
		case <-time.After(soakPoll):
		}
	}
	soakWatching.Store(true)
	return soakMeasure()
}

// soakMeasure collects the garbage (twice, so that sync.Pool's victim
// caches go too) and measures. The live heap it reports leaves out the
// read buffers rxnet's free lists keep across collections (at most 7 MiB,
// DESIGN "Pooled data"), which it reports apart.
func soakMeasure() soakSnapshot {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	pooled := uint64(bufpool.FreeBytes())
	return soakSnapshot{Goroutines: runtime.NumGoroutine(), FDs: openFDs(), HeapAlloc: ms.HeapAlloc - min(pooled, ms.HeapAlloc), Pooled: pooled}
}

// openFDs counts the process's open descriptors (/proc/self/fd, less the
// one reading it), or -1 when it cannot.
func openFDs() int {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return -1
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return -1
	}
	return len(names) - 1
}

// soakSettle shuts s down, waits for its serving goroutines and for the
// goroutine count to come back to the baseline's, then measures.
func soakSettle(s *rxServer, base soakSnapshot) *soakCheck {
	c := &soakCheck{Baseline: base, Settled: true}
	ctx, cancel := context.WithTimeout(context.Background(), soakSettleTimeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		c.Settled = false
		c.Open = s.srv.Stats().Open
		fmt.Fprintf(os.Stderr, "bench server: %d transports still open %v after the clients closed: %v\n",
			c.Open, soakSettleTimeout, err)
		s.srv.Close()
	}
	tasks := make(chan struct{})
	go func() {
		s.tasks.Wait()
		close(tasks)
	}()
	select {
	case <-tasks:
	case <-ctx.Done():
		c.Settled = false
		fmt.Fprintf(os.Stderr, "bench server: serving goroutines still running %v after the clients closed\n", soakSettleTimeout)
	}
	waitGoroutines(base.Goroutines, soakExitGrace)
	c.Final = soakMeasure()
	c.Watched, c.Held = waitFreed(soakFreeGrace)
	c.Server = s.srv.Stats()
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		c.PeakRSS, _ = statusField(b, "VmHWM")
	}
	if c.Final.Goroutines > base.Goroutines {
		c.Stacks = goroutineDump(32 << 10)
	}
	return c
}

// waitGoroutines polls until at most n goroutines run, for at most limit.
func waitGoroutines(n int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for runtime.NumGoroutine() > n && time.Now().Before(deadline) {
		time.Sleep(soakPoll)
	}
}

// waitFreed polls, for at most limit, until every watched transport has
// been freed (cleanups run on their own goroutine after the GC that finds
// their object unreachable, with no signal to wait on), and returns how
// many were watched and how many are still held.
func waitFreed(limit time.Duration) (watched, held int64) {
	deadline := time.Now().Add(limit)
	for transportsFreed.Load() < transportsWatched.Load() && time.Now().Before(deadline) {
		time.Sleep(soakPoll)
		runtime.GC()
	}
	return transportsWatched.Load(), transportsWatched.Load() - transportsFreed.Load()
}

// goroutineDump returns the goroutines' stacks, grouped (debug=1), cut to
// max bytes.
func goroutineDump(max int) string {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	if b.Len() > max {
		b.Truncate(max)
		b.WriteString("\n...")
	}
	return b.String()
}

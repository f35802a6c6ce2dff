package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The phases of a load run, as the workers see them.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// loadResult is what the client measured in one run.
type loadResult struct {
	Measured int64         // requests started in the measured window
	Total    int64         // every request completed, warm-up included
	Window   time.Duration // length of the measured window
	P50, P99 time.Duration // latency of the measured requests
}

// worker is one connection of the load client.
type worker struct {
	c     net.Conn
	total int64
	lat   []time.Duration
	err   error
}

// dialAll opens n connections to addr.
func dialAll(addr string, n int) ([]net.Conn, error) {
	return dialEach(n, func() (net.Conn, error) { return net.Dial("tcp", addr) })
}

// dialEach opens n connections with dial, one after the other; if one
// fails, it closes those already open.
func dialEach(n int, dial func() (net.Conn, error)) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := dial()
		if err != nil {
			closeAll(conns)
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// echoMessage is the message of the echo load: size bytes.
func echoMessage(size int) []byte {
	return bytes.Repeat([]byte("rxnet-bench\n"), size/12+1)[:size]
}

// runLoad is the load generator (uvloop's echo client): every connection
// sends msg, waits for the whole echo and starts again, for warmup, then
// for the measured window (mark: runPhases). It returns once every
// connection's last request has been answered; the caller closes conns.
func runLoad(conns []net.Conn, msg []byte, warmup, window time.Duration, mark func()) (loadResult, error) {
	var phase atomic.Int32
	deadline := time.Now().Add(warmup + window + 30*time.Second)
	ws := make([]*worker, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		if err := c.SetDeadline(deadline); err != nil {
			return loadResult{}, err
		}
		w := &worker{c: c, lat: make([]time.Duration, 0, 4096)}
		ws[i] = w
		wg.Go(func() { w.run(&phase, msg) })
	}

	elapsed := runPhases(&phase, warmup, window, mark)
	wg.Wait()

	res := loadResult{Window: elapsed}
	var all []time.Duration
	for _, w := range ws {
		if w.err != nil {
			return loadResult{}, w.err
		}
		res.Total += w.total
		all = append(all, w.lat...)
	}
	res.Measured = int64(len(all))
	if len(all) == 0 {
		return loadResult{}, fmt.Errorf("no request completed in %v", window)
	}
	slices.Sort(all)
	res.P50 = percentile(all, 0.50)
	res.P99 = percentile(all, 0.99)
	return res, nil
}

// runPhases runs a load's clock: the warm-up, then the measured window,
// whose length it returns. It calls mark, if not nil, just before the
// window starts and just after it ends, the workers still running (the
// server's figures at both ends: runOne).
func runPhases(phase *atomic.Int32, warmup, window time.Duration, mark func()) time.Duration {
	time.Sleep(warmup)
	if mark != nil {
		mark()
	}
	start := time.Now()
	phase.Store(phaseMeasure)
	time.Sleep(window)
	phase.Store(phaseStop)
	elapsed := time.Since(start)
	if mark != nil {
		mark()
	}
	return elapsed
}

// run sends msg and reads its echo until the phase says stop; it records
// the latency of the requests it starts in the measured phase.
func (w *worker) run(phase *atomic.Int32, msg []byte) {
	buf := make([]byte, len(msg))
	for {
		ph := phase.Load()
		if ph == phaseStop {
			return
		}
		t0 := time.Now()
		if _, err := w.c.Write(msg); err != nil {
			w.err = fmt.Errorf("write: %w", err)
			return
		}
		if _, err := io.ReadFull(w.c, buf); err != nil {
			w.err = fmt.Errorf("read: %w", err)
			return
		}
		if ph == phaseMeasure {
			w.lat = append(w.lat, time.Since(t0))
		}
		w.total++
	}
}

// percentile returns the q-quantile of sorted, by the nearest-rank method.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// openIdle opens n connections to addr with dial, with up to parallel
// dials at a time, connection i from the source address srcs[i%len(srcs)]
// (the system's choice without srcs), and does one echo round trip of
// size bytes on each, checking the bytes, so that the server has accepted
// and served every one.
func openIdle(dial idleDialer, addr string, srcs []netip.Addr, n, parallel, size int) ([]net.Conn, error) {
	msg := bytes.Repeat([]byte{'i'}, size)
	conns := make([]net.Conn, n)
	next := atomic.Int64{}
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(parallel, n) {
		wg.Go(func() {
			buf := make([]byte, size)
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var src netip.Addr
				if len(srcs) > 0 {
					src = srcs[i%len(srcs)]
				}
				c, err := roundTrip(func(addr string) (net.Conn, error) { return dial(tcpSource(src), addr) }, addr, msg, buf)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		return nil, firstErr
	}
	return conns, nil
}

// roundTrip dials addr with dial and echoes msg once.
func roundTrip(dial func(addr string) (net.Conn, error), addr string, msg, buf []byte) (net.Conn, error) {
	c, err := dial(addr)
	if err != nil {
		return nil, err
	}
	if err := echoOnce(c, msg, buf); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// echoOnce sends msg on c and checks that the same bytes come back.
func echoOnce(c net.Conn, msg, buf []byte) error {
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	if _, err := c.Write(msg); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if !bytes.Equal(buf, msg) {
		return errors.New("echo differs from what was sent")
	}
	return c.SetDeadline(time.Time{})
}

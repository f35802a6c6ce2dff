package main

// The server's figures over the measured window alone. The server child
// prints its runtime figures as it stops, which cover its whole life:
// start-up, accepting the connections, the warm-up. To see the steady
// state, the parent also asks it for them just before the measured window
// starts and just after it ends (a line on the child's stdin:
// serverProc.snapshot), and runResult gets the differences: the garbage
// collections in the window (GCs/s) and the heap bytes allocated in it
// per request measured.

import "time"

// window is the server's figures at both ends of a run's measured
// window, with when each came, as mark took them. It is used by one
// goroutine: the load's clock (runPhases), then runOne.
type window struct {
	stats []serverStats
	times []time.Time
	err   error // the first snapshot's error
}

// mark returns the load's mark (runPhases): each call asks srv for its
// figures and notes when they came.
func (w *window) mark(srv *serverProc) func() {
	return func() {
		if w.err != nil {
			return
		}
		st, err := srv.snapshot()
		if err != nil {
			w.err = err
			return
		}
		w.stats = append(w.stats, st)
		w.times = append(w.times, time.Now())
	}
}

// fill sets r's window figures from the two marks, measured being the
// requests the client measured in the window; without both marks it
// leaves them zero.
func (w *window) fill(r *runResult, measured int64) {
	if len(w.stats) != 2 {
		return
	}
	start, end := w.stats[0], w.stats[1]
	r.WindowGCs = end.NumGC - start.NumGC
	if secs := w.times[1].Sub(w.times[0]).Seconds(); secs > 0 {
		r.GCPerSec = float64(r.WindowGCs) / secs
	}
	if measured > 0 {
		r.WindowAllocPerReq = float64(end.TotalAlloc-start.TotalAlloc) / float64(measured)
	}
}

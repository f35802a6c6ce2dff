package transport

import (
	"sync/atomic"
	"time"

	"github.com/rxnet/rxnet/internal/flow"
)

// Stats is a snapshot of a transport's counters, from its Stats method.
// The counters only grow; the durations include a pause still running.
type Stats struct {
	// BytesRead counts the bytes read: stream data, datagram payloads,
	// a subprocess's stdout and stderr.
	BytesRead int64
	// BytesWritten counts the bytes the kernel took (datagram payloads,
	// a subprocess's stdin).
	BytesWritten int64
	// Events counts the events delivered to the consumer, Made and Lost
	// included: put in its channel or sent to its Observable (not those
	// dropped to make room for Lost after a local Close), or passed to
	// the adapter.
	Events int64
	// WritePauses counts the times writing paused (PauseWriting), and
	// WritePausedFor the time it stayed paused.
	WritePauses    int64
	WritePausedFor time.Duration
	// ReadPauses counts the PauseReading calls that paused reading, and
	// ReadPausedFor the time it stayed paused.
	ReadPauses    int64
	ReadPausedFor time.Duration
	// PeakWriteBuffer is the largest WriteBufferSize seen.
	PeakWriteBuffer int
}

// Add returns the sum of s and o, counter by counter; PeakWriteBuffer is
// the larger of the two.
func (s Stats) Add(o Stats) Stats {
	return Stats{
		BytesRead:       s.BytesRead + o.BytesRead,
		BytesWritten:    s.BytesWritten + o.BytesWritten,
		Events:          s.Events + o.Events,
		WritePauses:     s.WritePauses + o.WritePauses,
		WritePausedFor:  s.WritePausedFor + o.WritePausedFor,
		ReadPauses:      s.ReadPauses + o.ReadPauses,
		ReadPausedFor:   s.ReadPausedFor + o.ReadPausedFor,
		PeakWriteBuffer: max(s.PeakWriteBuffer, o.PeakWriteBuffer),
	}
}

// counters are a transport's live Stats. read and events (those handed
// to the adapter; the queue counts the channel's) are counted without a
// lock by the read goroutine; the rest is guarded by the transport's
// mutex.
type counters struct {
	read, events           atomic.Int64
	written                int64
	writePauses, readPause int64
	writeSince, readSince  stamp // zero while not paused
	writeFor, readFor      time.Duration
	peak                   int
}

// flowed records a write pause or resume and the buffer's size.
func (k *counters) flowed(tr flow.Transition, size int) {
	k.peak = max(k.peak, size)
	switch tr {
	case flow.Paused:
		k.writePauses++
		k.writeSince = stampNow()
	case flow.Resumed:
		k.writeFor += since(&k.writeSince)
	}
}

// readPaused and readResumed record PauseReading and its end.
func (k *counters) readPaused() {
	k.readPause++
	k.readSince = stampNow()
}

func (k *counters) readResumed() { k.readFor += since(&k.readSince) }

// ended stops the clocks of pauses still running (the transport is done).
func (k *counters) ended() {
	k.writeFor += since(&k.writeSince)
	k.readResumed()
}

// snapshot returns the Stats now.
func (k *counters) snapshot() Stats {
	s := Stats{
		BytesRead:       k.read.Load(),
		BytesWritten:    k.written,
		Events:          k.events.Load(),
		WritePauses:     k.writePauses,
		WritePausedFor:  k.writeFor,
		ReadPauses:      k.readPause,
		ReadPausedFor:   k.readFor,
		PeakWriteBuffer: k.peak,
	}
	if k.writeSince != 0 {
		s.WritePausedFor += k.writeSince.elapsed()
	}
	if k.readSince != 0 {
		s.ReadPausedFor += k.readSince.elapsed()
	}
	return s
}

// clockStart is the pause clocks' origin: a pause's start is kept as the
// monotonic time since it (a stamp, 8 bytes where a time.Time takes 24,
// in every transport).
var clockStart = time.Now()

// stamp is a moment on the pause clock, plus one: zero is no moment.
type stamp int64

func stampNow() stamp { return stamp(time.Since(clockStart)) + 1 }

// elapsed returns the time since t (not zero).
func (t stamp) elapsed() time.Duration {
	return time.Since(clockStart) - time.Duration(t-1)
}

// since returns the time since *t and clears it; zero when *t is zero.
func since(t *stamp) time.Duration {
	if *t == 0 {
		return 0
	}
	d := t.elapsed()
	*t = 0
	return d
}

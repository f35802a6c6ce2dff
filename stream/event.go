package stream

import (
	"fmt"
	"net"

	"github.com/rxnet/rxnet/internal/bufpool"
)

// Kind says what happened on a transport.
type Kind uint8

// The event kinds, in the rough order a transport produces them.
const (
	// Made is the first event of every transport, exactly once.
	Made Kind = iota + 1
	// Data carries bytes read from a stream transport (never empty), or
	// one frame of a framed stream (which may be empty).
	Data
	// EOF says the peer will send no more bytes; at most once, after every Data.
	EOF
	// Lost is the last event, exactly once; Event.Err is nil for a clean end.
	Lost
	// PauseWriting says the write buffer went over its high-water mark.
	PauseWriting
	// ResumeWriting says the write buffer came back to its low-water mark.
	ResumeWriting
	// Datagram carries one datagram and its sender (Event.Addr).
	Datagram
	// DatagramError reports a socket error that does not end a datagram endpoint.
	DatagramError
	// PipeData carries bytes read from a subprocess pipe (Event.FD).
	PipeData
	// PipeLost says a subprocess pipe (Event.FD) closed.
	PipeLost
	// Exited says the subprocess exited.
	Exited
)

var kindNames = [...]string{
	Made:          "Made",
	Data:          "Data",
	EOF:           "EOF",
	Lost:          "Lost",
	PauseWriting:  "PauseWriting",
	ResumeWriting: "ResumeWriting",
	Datagram:      "Datagram",
	DatagramError: "DatagramError",
	PipeData:      "PipeData",
	PipeLost:      "PipeLost",
	Exited:        "Exited",
}

// String returns the kind's name, such as "Data".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Event is one thing that happened on a transport.
//
// An Event is a value: the receiver owns Data and may keep or modify it.
// A pooled event (a transport made with transport.WithPooledData) owns
// it until Release: see Release.
type Event struct {
	Kind Kind
	// Data holds the bytes of a Data, Datagram or PipeData event; the
	// receiver owns it (a pooled event's, until its Release).
	Data []byte
	// Addr is the sender of a Datagram event.
	Addr net.Addr
	// FD is the pipe of a PipeData or PipeLost event: 0 stdin, 1 stdout,
	// 2 stderr.
	FD int
	// Err is the cause of a Lost, DatagramError or PipeLost event; nil means
	// a clean end.
	Err error
	// ref is the pooled buffer Data lives in: see Release.
	ref bufpool.Ref
}

func init() { bufpool.EventWithRef = withRef }

// withRef returns e holding the pooled buffer r (bufpool.EventWithRef).
func withRef(e Event, r bufpool.Ref) Event {
	e.ref = r
	return e
}

// Release gives a pooled event's buffer back to rxnet, for a later read:
// Data must not be used after it, by the caller or by anyone it shared
// Data with (a copy of the event included). Releasing is optional:
// forgetting it costs only the reuse, as the garbage collector then frees
// the buffer.
//
// stream's consumers release what they consume: a framer releases each
// input once no frame refers to it (its pooled frames are the
// receiver's to Release), Payloads releases a payload after the
// consumer's next receive, and adapters.Reader an event once its bytes
// are read or written out.
//
// Release is harmless where it has nothing to do: on an event that is
// not pooled (WithPooledData not given, or an event other than Data,
// Datagram and PipeData), and on a second Release of the same event or
// of any copy of it, which does nothing even after the buffer went to
// another read. So a buffer is never handed out twice. Any goroutine may
// call it.
func (e Event) Release() { e.ref.Release() }

// Pooled reports whether e's Data lives in a pooled buffer, which Release
// gives back (it may have been released already).
func (e Event) Pooled() bool { return e.ref.Pooled() }

// String formats the event for logs and tests, such as "Data(5)",
// "PipeData(fd 1, 5)" or "Lost(<nil>)".
func (e Event) String() string {
	switch e.Kind {
	case Data, Datagram:
		return fmt.Sprintf("%v(%d)", e.Kind, len(e.Data))
	case PipeData:
		return fmt.Sprintf("%v(fd %d, %d)", e.Kind, e.FD, len(e.Data))
	case Lost, DatagramError:
		return fmt.Sprintf("%v(%v)", e.Kind, e.Err)
	case PipeLost:
		return fmt.Sprintf("%v(fd %d, %v)", e.Kind, e.FD, e.Err)
	}
	return e.Kind.String()
}

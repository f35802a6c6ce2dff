package adapters

import (
	"errors"

	"github.com/rxnet/rxnet/transport"
)

// PanicError is ConnectionLost's error when a callback panicked (DESIGN
// ER2): the adapter recovers, aborts that one transport with it, and the
// server keeps serving the others. It is transport.PanicError, which a
// TLS handshake whose config callback panicked fails with too, so one
// errors.As finds a panic wherever it happened.
type PanicError = transport.PanicError

// ErrNotAdaptable is returned for a transport the adapter cannot drive
// (one rxnet did not make) or whose events already have a consumer.
var ErrNotAdaptable = errors.New("adapters: transport cannot be adapted (not rxnet's, or its events already have a consumer)")

// ErrNilProtocol is returned when a protocol factory returns nil.
var ErrNilProtocol = errors.New("adapters: protocol factory returned nil")

// ErrNotDetachable is returned by Detach for a transport that no Protocol
// drives (or one already detached), and by Detached.Attach once its
// events went to an Observable or were handed back.
var ErrNotDetachable = errors.New("adapters: events cannot be handed over: no protocol drives them, or they went to an Observable")

// ErrEmptyBuffer is ConnectionLost's error when a BufferedProtocol's
// GetBuffer returned an empty buffer (asyncio B3's RuntimeError).
var ErrEmptyBuffer = errors.New("adapters: BufferedProtocol's GetBuffer returned an empty buffer")

// ErrNoDataCallback is returned by Adapt, Connect, Serve and
// Detached.Attach for a StreamProtocol that is neither a Protocol
// (DataReceived) nor a BufferedProtocol (GetBuffer and BufferUpdated).
var ErrNoDataCallback = errors.New("adapters: protocol has neither DataReceived nor GetBuffer and BufferUpdated")

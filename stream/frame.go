package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/rxnet/rxnet/internal/bufpool"
)

// DefaultMaxFrame is the largest frame a Framer made with max <= 0 accepts.
const DefaultMaxFrame = 64 << 10

var (
	errZeroFramer = errors.New("stream: zero Framer; make one with Lines, Delimited, LengthPrefixed or Split")
	errNoEncoder  = fmt.Errorf("stream: a Split framer has no encoder: %w", errors.ErrUnsupported)
	errFinal      = errors.New("final token") // internal: bufio.ErrFinalToken mid-stream
)

// Frame is an event of a framed stream: a framed stream is an event stream
// whose Data events each hold exactly one frame, owned by the receiver (a
// frame may be empty: an empty line, a zero-length message), and every
// other event (Made, EOF, PauseWriting, ResumeWriting, Datagram, PipeData,
// Lost...) passes through unchanged, in order. A frame cut across reads
// comes out whole, in one Data event, after the events that came before
// its last byte.
//
// A frame may share memory with the Data event it was cut from, never
// with another frame; keep a copy (bytes.Clone) of a small frame held for
// long, so that the read it came from can be freed.
//
// Over pooled events (transport.WithPooledData), every frame is pooled
// too, in a buffer of its own: its Data may be used until its Release,
// which gives that buffer back without touching any other frame's. The
// framer releases each input event once no frame refers to it, and every
// event it drops (DESIGN.md, "Framing and rx composition", says which
// frames are copied).
type Frame = Event

// Framer cuts a byte stream into frames and encodes frames for writing.
// Lines, Delimited, LengthPrefixed and Split make one; every Framer
// bounds a frame to its max, so that framing never buffers without a
// bound.
//
// A Framer made with bad arguments (an empty separator, a prefix width
// other than 1, 2, 4 or 8, a nil byte order or split function) reports
// the error from Err and on every use: SplitFunc's function returns it,
// Frames and Observable end at once with a Lost carrying it, Append and
// WriteFrame return it. It never panics. The zero Framer is such a
// Framer.
//
// A Framer is an immutable value: it may be copied, and multiple
// goroutines may use one simultaneously.
type Framer struct {
	split  bufio.SplitFunc // bounded to max and limit
	max    int             // the largest frame
	limit  int             // the most bytes buffered for one frame
	encode func(dst, frame []byte) ([]byte, error)
	err    error
}

// newFramer bounds split to max (DefaultMaxFrame when max <= 0), with
// overhead bytes of framing around each frame.
func newFramer(split bufio.SplitFunc, max, overhead int, encode func(dst, frame []byte) ([]byte, error)) Framer {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	max = min(max, math.MaxInt-overhead)
	limit := max + overhead
	return Framer{split: bounded(split, max, limit), max: max, limit: limit, encode: encode}
}

func badFramer(err error) Framer { return Framer{split: failing(err), err: err} }

// Lines frames lines as bufio.ScanLines does: a frame is what comes before
// a '\n', less one trailing '\r'; at the end of the stream, a final line
// without a '\n' is a frame too. A line longer than max bytes
// (DefaultMaxFrame when max <= 0) is ErrFrameTooLarge. Append writes the
// frame and a '\n'.
func Lines(max int) Framer {
	return newFramer(scanLines, max, 2, appendLine)
}

// Delimited frames the bytes between occurrences of sep, which frames do
// not include. Bytes after the last sep at the end of the stream are
// ErrTruncatedFrame; a frame longer than max bytes (DefaultMaxFrame when
// max <= 0) is ErrFrameTooLarge. Append writes the frame and sep. An empty
// sep makes a Framer whose Err reports it. Delimited keeps a copy of sep.
func Delimited(sep []byte, max int) Framer {
	if len(sep) == 0 {
		return badFramer(errors.New("stream: Delimited with an empty separator"))
	}
	sep = bytes.Clone(sep)
	return newFramer(scanDelimited(sep), max, len(sep), func(dst, frame []byte) ([]byte, error) {
		return appendDelimited(dst, frame, sep)
	})
}

// LengthPrefixed frames messages that start with their length in width
// bytes (1, 2, 4 or 8) in order's byte order; the length counts the
// payload only, and a frame is the payload. A prefix announcing more than
// max bytes (DefaultMaxFrame when max <= 0) is ErrFrameTooLarge at once,
// before any payload is buffered; a stream ending inside a prefix or a
// payload is ErrTruncatedFrame. Append writes the prefix and the frame.
// Another width or a nil order makes a Framer whose Err reports it.
func LengthPrefixed(width int, order binary.ByteOrder, max int) Framer {
	switch {
	case width != 1 && width != 2 && width != 4 && width != 8:
		return badFramer(fmt.Errorf("stream: LengthPrefixed with width %d; want 1, 2, 4 or 8", width))
	case order == nil:
		return badFramer(errors.New("stream: LengthPrefixed with a nil byte order"))
	}
	if max <= 0 {
		max = DefaultMaxFrame
	}
	max = min(max, math.MaxInt-8)
	return newFramer(scanPrefixed(width, order, max), max, width, func(dst, frame []byte) ([]byte, error) {
		if uint64(len(frame)) > prefixRange(width) {
			return dst, fmt.Errorf("%w: %d bytes do not fit a %d-byte length prefix", ErrFrameTooLarge, len(frame), width)
		}
		return append(appendPrefix(dst, width, order, len(frame)), frame...), nil
	})
}

// Split frames with any bufio.SplitFunc: a frame is each token split
// returns, and split's errors end the stream as an oversize frame does
// (bufio.ErrFinalToken delivers its token, then ends the stream the same
// way with a clean Lost). A token longer
// than max bytes (DefaultMaxFrame when max <= 0), or max bytes buffered
// without a token, is ErrFrameTooLarge. split must, like bufio's own,
// give the same tokens however its input is chunked, and return tokens
// that are slices of its data argument (or that nobody else keeps), since
// frames are owned by their receiver. A Split Framer has no encoder:
// Append and WriteFrame return an error matching errors.ErrUnsupported. A
// nil split makes a Framer whose Err reports it.
func Split(split bufio.SplitFunc, max int) Framer {
	if split == nil {
		return badFramer(errors.New("stream: Split with a nil split function"))
	}
	return newFramer(split, max, 0, nil)
}

// check returns the error that makes f unusable, if any.
func (f Framer) check() error {
	if f.err != nil {
		return f.err
	}
	if f.split == nil {
		return errZeroFramer
	}
	return nil
}

// Err reports the bad argument f was made with (every use of f then
// reports it too), or nil for a usable Framer.
func (f Framer) Err() error { return f.check() }

// SplitFunc returns f's split function, with bufio.SplitFunc's contract.
// It is pure, so it gives the same frames however its input is chunked,
// and bounded: it returns an error wrapping ErrFrameTooLarge for a frame
// over max, for MaxBuffer bytes of data holding no complete frame, and
// (LengthPrefixed) for a length prefix over max. With a bufio.Scanner,
// set the scanner's buffer to MaxBuffer:
//
//	sc := bufio.NewScanner(r)
//	sc.Buffer(make([]byte, 0, 4096), f.MaxBuffer())
//	sc.Split(f.SplitFunc())
func (f Framer) SplitFunc() bufio.SplitFunc {
	if err := f.check(); err != nil {
		return failing(err)
	}
	return f.split
}

// MaxBuffer returns the most bytes f buffers for one frame: max plus the
// framing around a frame (the prefix, the separator, "\r\n"); 0 for a
// Framer with an error.
func (f Framer) MaxBuffer() int { return f.limit }

// Append appends frame, encoded for f's framing, to dst and returns the
// extended slice: the prefix and the frame (LengthPrefixed), the frame
// and the separator (Delimited) or a '\n' (Lines). A frame over max or
// over the prefix's range is ErrFrameTooLarge, one that would not read
// back as itself is ErrBadFrame, and a Split Framer has no encoder (an
// error matching errors.ErrUnsupported); on error dst is returned
// unchanged.
func (f Framer) Append(dst, frame []byte) ([]byte, error) {
	if err := f.check(); err != nil {
		return dst, err
	}
	if f.encode == nil {
		return dst, errNoEncoder
	}
	if len(frame) > f.max {
		return dst, fmt.Errorf("%w: %d bytes, max %d", ErrFrameTooLarge, len(frame), f.max)
	}
	return f.encode(dst, frame)
}

// framePool holds WriteFrame's buffers.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// WriteFrame encodes frame as Append does and writes it to w in one Write
// call, so a drain-aware writer (adapters.Writer) or a transport's Write
// sees whole frames. It returns Append's error, or w's; a short write
// without an error is io.ErrShortWrite. The encoding goes through a pooled
// buffer that is reused once Write returns: w must not retain it, as
// io.Writer's contract says (a transport's Write never does).
func (f Framer) WriteFrame(w io.Writer, frame []byte) error {
	bp := framePool.Get().(*[]byte)
	b, err := f.Append((*bp)[:0], frame)
	if err == nil {
		var n int
		n, err = w.Write(b)
		if err == nil && n < len(b) {
			err = io.ErrShortWrite
		}
	}
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		framePool.Put(bp)
	}
	return err
}

// Frames frames the events of in (a transport's Events) and returns the
// framed stream (see Frame) on a channel as bounded as in (its capacity,
// at least 1). One goroutine reads in until it is closed, then closes the
// returned channel; it holds at most one event and the bytes of one
// incomplete frame (at most MaxBuffer). A consumer that stops reading the
// channel stops the reads from in, and so the transport's.
//
// On an oversize frame (or a Split function's error) Frames calls abort
// (normally the transport's Abort; when nil, the source must end by
// itself), reads in to its end, dropping what comes, and ends the framed
// stream with a Lost whose error wraps ErrFrameTooLarge (joined with the
// source's Lost error if any).
// At the end of the stream, a Lines framer delivers a final unterminated
// line; for the others an incomplete frame makes the Lost's error wrap
// ErrTruncatedFrame. A Lost already carrying an error keeps it, joined
// with the framing's. If in closes without a Lost, a framing error still
// ends the framed stream with one. A Framer with an error calls abort,
// reads in to its end and delivers a Lost carrying that error.
//
// Read the channel until it is closed. To stop early, end the source
// (abort the transport) and keep receiving until the channel is closed,
// or use FramesContext.
func (f Framer) Frames(in <-chan Event, abort func()) <-chan Frame {
	return f.FramesContext(context.Background(), in, abort)
}

// FramesContext is Frames with a context for a consumer that may stop
// reading: once ctx is done before the framed stream has ended,
// FramesContext delivers nothing more, calls abort, reads in to its end
// and closes the returned channel. ctx bounds the consumer's interest,
// not the source: the goroutine still ends only when in is closed.
func (f Framer) FramesContext(ctx context.Context, in <-chan Event, abort func()) <-chan Frame {
	out := make(chan Frame, max(cap(in), 1))
	go f.runFrames(ctx, in, out, abort)
	return out
}

func (f Framer) runFrames(ctx context.Context, in <-chan Event, out chan<- Frame, abort func()) {
	defer close(out)
	defer drainEvents(in)
	done := ctx.Done()
	emit := func(e Event) bool {
		select {
		case out <- e:
			return true
		default:
		}
		select {
		case out <- e:
			return true
		case <-done:
			e.Release() // not delivered: nobody else will
			return false
		}
	}
	drain := func() error { return drainEvents(in) }
	s := framing{split: f.split, limit: f.limit}
	defer s.dropPending()
	if err := f.check(); err != nil {
		s.fail(err, emit, abort, drain)
		return
	}
	for {
		var e Event
		ok := true
		select {
		case e, ok = <-in:
		case <-done:
			callAbort(abort)
			return
		}
		if !ok {
			s.finish(emit)
			return
		}
		if !s.consume(e, emit, abort, drain) {
			return
		}
	}
}

// drainEvents reads in to its end, releasing what it drops, and returns
// the last Lost's error.
func drainEvents(in <-chan Event) error {
	var err error
	for e := range in {
		e.Release()
		if e.Kind == Lost {
			err = e.Err
		}
	}
	return err
}

func callAbort(abort func()) {
	if abort != nil {
		abort()
	}
}

// emitFunc delivers one event of the framed stream; it reports false once
// the consumer is gone (its context is done).
type emitFunc func(Event) bool

// framing is the state of one framed stream: the bytes of an incomplete
// frame and what the end of the stream must report.
type framing struct {
	split   bufio.SplitFunc // bounded
	limit   int             // the most bytes buffered for one frame
	buf     []byte          // an incomplete frame, copied from Data events
	pend    *bufpool.Buf    // buf's pooled storage, when pooled
	pooled  bool            // a pooled Data came: frames are pooled from now on
	empties int             // tokens in a row without advancing
	ended   bool            // EOF came: the tail is flushed
	tailErr error           // the tail's error, for the Lost
	gone    bool            // emit refused: the consumer is gone
}

// step handles one event of the source. It reports false once the framed
// stream is over (Lost delivered, or the consumer gone), and returns a
// framing error that must end it: the caller then calls fail.
func (s *framing) step(e Event, emit emitFunc) (bool, error) {
	switch e.Kind {
	case Data:
		s.ended = false
		if s.pooled || e.Pooled() {
			s.pooled = true
			return s.dataPooled(e, emit)
		}
		return s.data(e.Data, emit)
	case EOF:
		if !s.ended {
			ok, err := s.flush(emit)
			switch {
			case !ok:
				return false, nil
			case errors.Is(err, ErrTruncatedFrame):
				s.tailErr = err // the EOF passes; the Lost reports it
			case err != nil:
				return true, err
			}
		}
	case Lost:
		if !s.ended {
			if ok, err := s.flush(emit); !ok {
				return false, nil
			} else if err != nil {
				s.tailErr = err
			}
		}
		e.Err = joinErr(e.Err, s.tailErr)
		s.gone = !emit(e)
		return false, nil
	}
	if !emit(e) {
		s.gone = true
		return false, nil
	}
	return true, nil
}

// finish ends a framed stream whose source closed without a Lost: the
// tail is flushed, and a framing error is delivered in a Lost.
func (s *framing) finish(emit emitFunc) {
	if !s.ended {
		if ok, err := s.flush(emit); !ok {
			return
		} else if err != nil {
			s.tailErr = err
		}
	}
	if s.tailErr != nil {
		emit(Event{Kind: Lost, Err: s.tailErr})
	}
}

// consume feeds e to the framing and reports whether the stream goes on;
// when it does not, it has ended the stream (and aborted the source if
// need be).
func (s *framing) consume(e Event, emit emitFunc, abort func(), drain func() error) bool {
	more, err := s.step(e, emit)
	if err != nil {
		s.fail(err, emit, abort, drain)
		return false
	}
	if !more && s.gone {
		callAbort(abort)
	}
	return more
}

// fail ends the framed stream on a framing error: the source is aborted
// and drained, then the Lost carries err and the source's own error.
func (s *framing) fail(err error, emit emitFunc, abort func(), drain func() error) {
	s.dropPending()
	callAbort(abort)
	lostErr := drain()
	if err == errFinal {
		err = nil
	}
	emit(Event{Kind: Lost, Err: joinErr(err, lostErr)})
}

func joinErr(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return errors.Join(a, b)
}

// deliver emits one token as a frame, clipped so that appending to it
// cannot reach the bytes after it; once the stream is pooled, a copy of
// it in a pooled buffer of its own.
func (s *framing) deliver(tok []byte, emit emitFunc) bool {
	if tok == nil {
		return true
	}
	e := Event{Kind: Data, Data: tok[:len(tok):len(tok)]}
	if s.pooled {
		b, data := bufpool.Copy(tok)
		e = withRef(Event{Kind: Data, Data: data}, b.Ref())
	}
	if !emit(e) {
		s.gone = true
		return false
	}
	return true
}

// progress counts tokens returned without advancing.
func (s *framing) progress(advance int) error {
	if advance > 0 {
		s.empties = 0
		return nil
	}
	if s.empties++; s.empties > maxEmptyTokens {
		return errNoProgress
	}
	return nil
}

// data frames p. Frames that lie within p are slices of it (the framer
// owns a Data event's bytes); only an incomplete frame's bytes are copied.
func (s *framing) data(p []byte, emit emitFunc) (bool, error) {
	if len(s.buf) > 0 {
		var ok bool
		var err error
		if p, ok, err = s.complete(p, emit); !ok || err != nil {
			return ok, err
		}
	}
	for len(p) > 0 {
		adv, tok, err := s.split(p, false)
		if err != nil {
			return s.splitErr(tok, err, emit)
		}
		if adv == 0 && tok == nil {
			s.buf = append(make([]byte, 0, max(len(p), min(max(2*len(p), 512), s.limit))), p...)
			return true, nil
		}
		if err := s.progress(adv); err != nil {
			return true, err
		}
		if !s.deliver(tok, emit) {
			return false, nil
		}
		p = p[adv:]
	}
	return true, nil
}

// complete appends p to the incomplete frame in growing pieces until
// frames complete, and returns the rest of p (nil when all of p went into
// the buffer), so that only the bytes of the frame cut across events are
// copied. A pooled stream's pending bytes grow in a pooled buffer, which
// the frame that ends them takes over (endPending).
func (s *framing) complete(p []byte, emit emitFunc) ([]byte, bool, error) {
	step := max(len(s.buf), 512)
	for n := 0; n < len(p); {
		k := min(step, len(p)-n)
		if s.pooled {
			s.appendPending(p[n : n+k])
		} else {
			s.buf = append(s.buf, p[n:n+k]...)
		}
		n += k
		step *= 2
		for len(s.buf) > 0 {
			adv, tok, err := s.split(s.buf, false)
			if err != nil {
				ok, err := s.splitErr(tok, err, emit)
				return nil, ok, err
			}
			if adv == 0 && tok == nil {
				break // more bytes
			}
			if err := s.progress(adv); err != nil {
				return nil, true, err
			}
			if rest := len(s.buf) - adv; rest <= n {
				// The rest is p's: frame p itself from there on.
				return p[n-rest:], s.endPending(tok, emit), nil
			}
			if !s.deliver(tok, emit) {
				return nil, false, nil
			}
			s.buf = s.buf[adv:]
		}
	}
	return nil, true, nil
}

// splitErr handles an error of the split function mid-stream:
// bufio.ErrFinalToken delivers its token and ends the stream cleanly.
func (s *framing) splitErr(tok []byte, err error, emit emitFunc) (bool, error) {
	if err == bufio.ErrFinalToken {
		if !s.deliver(tok, emit) {
			return false, nil
		}
		return true, errFinal
	}
	return true, err
}

// flush frames the tail at the end of the stream, as bufio.Scanner does
// at EOF, and returns the tail's error (ErrTruncatedFrame...).
func (s *framing) flush(emit emitFunc) (bool, error) {
	s.ended = true
	buf := s.buf
	s.buf = nil
	defer s.dropPending() // pooled: the frames were copied out of it
	for {
		adv, tok, err := s.split(buf, true)
		if err == bufio.ErrFinalToken {
			return s.deliver(tok, emit), nil
		}
		if err != nil {
			return true, err
		}
		if adv == 0 && tok == nil {
			return true, nil // Scanner drops what split leaves at EOF
		}
		if err := s.progress(adv); err != nil {
			return true, err
		}
		if !s.deliver(tok, emit) {
			return false, nil
		}
		buf = buf[adv:]
	}
}

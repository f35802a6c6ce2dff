package adapters_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// bufRecorder is a BufferedProtocol that records its callbacks as
// asyncio's abbreviations with their argument (GB(-1), BU(4), ER, CL(err))
// and collects the bytes BufferUpdated reports. Its buffer has size
// bytes; getBuffer, when set, replaces GetBuffer's result.
type bufRecorder struct {
	adapters.BaseBufferedProtocol
	size      int
	getBuffer func(hint int) []byte
	updated   func(n int)
	traceLog[string]

	mu   sync.Mutex
	buf  []byte
	got  []byte
	t    transport.Transport
	lost error
}

var _ adapters.BufferedProtocol = (*bufRecorder)(nil)

func newBufRecorder(size int) *bufRecorder {
	return &bufRecorder{size: size, traceLog: newTraceLog[string]()}
}

func (r *bufRecorder) ConnectionMade(t transport.Transport) {
	r.mu.Lock()
	r.t = t
	r.mu.Unlock()
	r.record("CM")
}

func (r *bufRecorder) GetBuffer(hint int) []byte {
	r.record(fmt.Sprintf("GB(%d)", hint))
	if r.getBuffer != nil {
		return r.getBuffer(hint)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buf == nil {
		r.buf = make([]byte, r.size)
	}
	return r.buf
}

// BufferUpdated keeps the bytes before it records the call, so that a
// waiter woken by the record finds them (received).
func (r *bufRecorder) BufferUpdated(n int) {
	r.mu.Lock()
	r.got = append(r.got, r.buf[:n]...)
	r.mu.Unlock()
	r.record(fmt.Sprintf("BU(%d)", n))
	if r.updated != nil {
		r.updated(n)
	}
}

func (r *bufRecorder) EOFReceived() bool { r.record("ER"); return false }

func (r *bufRecorder) ConnectionLost(err error) {
	r.mu.Lock()
	r.lost = err
	r.mu.Unlock()
	r.record(fmt.Sprintf("CL(%v)", err))
}

func (r *bufRecorder) transport() transport.Transport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.t
}

func (r *bufRecorder) received() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.got)
}

// updatedBytes sums the counts of the BufferUpdated calls in tr.
func updatedBytes(tr []string) int {
	n := 0
	for _, e := range tr {
		var k int
		if _, err := fmt.Sscanf(e, "BU(%d)", &k); err == nil {
			n += k
		}
	}
	return n
}

// waitLost waits for ConnectionLost and returns the trace.
func (r *bufRecorder) waitLost(t testing.TB) []string {
	t.Helper()
	return r.waitFor(t, "ConnectionLost", func(tr []string) bool {
		return len(tr) > 0 && strings.HasPrefix(tr[len(tr)-1], "CL(")
	})
}

// TestB1_BufferedReadsInPlaceInPieces: with a 4-byte buffer, 10 bytes
// arrive as BU(4), BU(4), BU(2), each after a GB(-1) (the transport read
// straight into the buffer: a copy would be hinted with the bytes left),
// and the bytes are the peer's.
func TestB1_BufferedReadsInPlaceInPieces(t *testing.T) {
	r := newBufRecorder(4)
	srv := startServe(t, func() *bufRecorder { return r })
	peer := dialPeer(t, srv.Addr().String(), 0)
	if _, err := peer.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	tr := r.waitFor(t, "10 bytes", func(tr []string) bool { return updatedBytes(tr) == 10 })
	if got := r.received(); got != "0123456789" {
		t.Fatalf("received %q", got)
	}
	want := []string{"CM", "GB(-1)", "BU(4)", "GB(-1)", "BU(4)", "GB(-1)", "BU(2)"}
	// A read goroutine asks for the next buffer before it waits.
	if rest := tr[min(len(want), len(tr)):]; !slices.Equal(tr[:min(len(want), len(tr))], want) || len(rest) > 1 || len(rest) == 1 && rest[0] != "GB(-1)" {
		t.Errorf("trace %v, want %v (and perhaps the next GB(-1))", tr, want)
	}
}

// TestB2_GetBufferBeforeEOF: a GetBuffer precedes the read that finds
// EOF, and is not followed by BufferUpdated: the trace ends GB, ER, CL.
func TestB2_GetBufferBeforeEOF(t *testing.T) {
	r := newBufRecorder(64)
	srv := startServe(t, func() *bufRecorder { return r })
	peer := dialPeer(t, srv.Addr().String(), 0)
	if _, err := peer.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "2 bytes", func(tr []string) bool { return updatedBytes(tr) == 2 })
	if err := peer.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	tr := r.waitLost(t)
	if n := len(tr); n < 3 || !slices.Equal(tr[n-3:], []string{"GB(-1)", "ER", "CL(<nil>)"}) {
		t.Errorf("trace %v, want it to end GB(-1), ER, CL(<nil>)", tr)
	}
}

// TestB3_EmptyBufferIsFatal: an empty buffer from GetBuffer ends the
// connection with ErrEmptyBuffer; a panic in GetBuffer or BufferUpdated
// ends it with a *PanicError; the server goes on serving.
func TestB3_EmptyBufferIsFatal(t *testing.T) {
	cases := []struct {
		name string
		set  func(r *bufRecorder)
		want func(error) bool
	}{
		{"empty", func(r *bufRecorder) { r.getBuffer = func(int) []byte { return []byte{} } },
			func(err error) bool { return errors.Is(err, adapters.ErrEmptyBuffer) }},
		{"GetBuffer panics", func(r *bufRecorder) { r.getBuffer = func(int) []byte { panic("boom") } }, isPanic},
		{"BufferUpdated panics", func(r *bufRecorder) { r.updated = func(int) { panic("boom") } }, isPanic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad, good := newBufRecorder(64), newBufRecorder(64)
			c.set(bad)
			next := make(chan *bufRecorder, 2)
			next <- bad
			next <- good
			srv := startServe(t, func() *bufRecorder { return <-next }, transport.WithErrorHandler(func(error) {}))
			if _, err := dialPeer(t, srv.Addr().String(), 0).Write([]byte("data")); err != nil {
				t.Fatal(err)
			}
			bad.waitLost(t)
			bad.mu.Lock()
			lost := bad.lost
			bad.mu.Unlock()
			if !c.want(lost) {
				t.Errorf("lost with %v", lost)
			}
			if _, err := dialPeer(t, srv.Addr().String(), 0).Write([]byte("ok")); err != nil {
				t.Fatal(err)
			}
			good.waitFor(t, "the next connection's bytes", func(tr []string) bool { return updatedBytes(tr) == 2 })
			if got := good.received(); got != "ok" {
				t.Fatalf("the next connection received %q", got)
			}
		})
	}
}

func isPanic(err error) bool {
	var pe *adapters.PanicError
	return errors.As(err, &pe)
}

// TestB4_HintIsAdvisory: bytes that reach a BufferedProtocol other than
// by a read into its buffer (TLS's decrypted records) are copied in, with
// the bytes left as GetBuffer's hint, over as many buffers as it takes.
func TestB4_HintIsAdvisory(t *testing.T) {
	r := newBufRecorder(1000)
	ct := dialBufferedTLS(t, r)
	msg := strings.Repeat("x", 2500)
	if _, err := ct.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	tr := r.waitFor(t, "2500 bytes", func(tr []string) bool { return updatedBytes(tr) == len(msg) })
	if r.received() != msg {
		t.Fatal("wrong bytes")
	}
	// Each chunk decrypted is fed as GB(left) BU(min(left, 1000)) pairs.
	left := 0
	for i := 1; i+1 < len(tr); i += 2 {
		var hint, n int
		if _, err := fmt.Sscanf(tr[i]+tr[i+1], "GB(%d)BU(%d)", &hint, &n); err != nil {
			t.Fatalf("trace %v: %v", tr, err)
		}
		if left > 0 && hint != left || hint <= 0 || n != min(hint, 1000) {
			t.Fatalf("trace %v: at %d, want GB(bytes left) then BU(min(left, 1000))", tr, i)
		}
		left = hint - n
	}
}

// TestL15_SwitchToBufferedProtocol: a Protocol detaches its transport and
// a BufferedProtocol attaches it: the rest Detach was given is copied in
// (hinted with its length), and the next read goes into its buffer.
func TestL15_SwitchToBufferedProtocol(t *testing.T) {
	b := newBufRecorder(64)
	detached := make(chan error, 1)
	r := newRecorder()
	r.onData = func(data []byte) {
		go func(rest []byte) {
			d, err := adapters.Detach(r.transport(), rest)
			if err == nil {
				err = d.Attach(b)
			}
			detached <- err
		}(append([]byte(nil), data[1:]...))
	}
	_, peer := serveOne(t, r)
	if _, err := peer.Write([]byte("Hrest")); err != nil {
		t.Fatal(err)
	}
	if err := waitErr(t, detached, "Detach and Attach"); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	tr := b.waitFor(t, "8 bytes and a read into the buffer", func(tr []string) bool {
		return updatedBytes(tr) == 8 && slices.Contains(tr, "GB(-1)")
	})
	if got := b.received(); got != "restmore" {
		t.Fatalf("received %q", got)
	}
	if tr[0] != "GB(4)" || tr[1] != "BU(4)" {
		t.Errorf("trace %v, want GB(4), BU(4) (the rest, copied), then reads into the buffer", tr)
	}
}

// TestER1_StreamProtocolWithoutDataCallback: a StreamProtocol that is
// neither a Protocol nor a BufferedProtocol is refused.
func TestER1_StreamProtocolWithoutDataCallback(t *testing.T) {
	ln := rawListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	tr, _, err := adapters.Connect(ctx, "tcp", ln.Addr().String(), func() adapters.BaseBufferedProtocol { return adapters.BaseBufferedProtocol{} })
	if !errors.Is(err, adapters.ErrNoDataCallback) || tr != nil {
		t.Fatalf("Connect = %v, %v; want ErrNoDataCallback", tr, err)
	}
}

// TestConnectBufferedEcho: Connect drives a BufferedProtocol; it echoes
// what it reads with the bytes it was given in place.
func TestConnectBufferedEcho(t *testing.T) {
	ln := rawListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	r := newBufRecorder(16)
	r.updated = func(n int) { r.transport().Write(r.buf[:n]) }
	tr, _, err := adapters.Connect(ctx, "tcp", ln.Addr().String(), func() *bufRecorder { return r })
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Abort()
	peer := acceptPeer(t, ln)
	msg := strings.Repeat("echo ", 100)
	if _, err := peer.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if got := readExactly(t, peer, len(msg)); string(got) != msg {
		t.Fatalf("echo %q", got)
	}
}

// TestRD1_DetachInBufferUpdatedCutsTheChunk: a BufferedProtocol fed a
// chunk in copies (TLS's decrypted record, 4 bytes at a time) detaches
// inside BufferUpdated: the bytes of the chunk not fed yet go to the
// stream, in order, and none to the protocol after Detach.
func TestRD1_DetachInBufferUpdatedCutsTheChunk(t *testing.T) {
	r := newBufRecorder(4)
	detached := make(chan *adapters.Detached, 1)
	calls := 0 // BufferUpdated's; the adapter calls it on one goroutine at a time
	r.updated = func(int) {
		if calls++; calls > 1 {
			return // BufferUpdated(4) is the first: its bytes are "HEAD"
		}
		d, err := adapters.Detach(r.transport(), nil)
		if err != nil {
			t.Error(err)
			return
		}
		detached <- d
	}
	ct := dialBufferedTLS(t, r)
	if _, err := ct.Write([]byte("HEADthe rest of the chunk")); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(failAfter)
	var d *adapters.Detached
	select {
	case d = <-detached:
	case <-timeout:
		t.Fatal("no Detach")
	}
	var got []byte
	for events := d.Events(); len(got) < len("the rest of the chunk"); {
		select {
		case e := <-events:
			got = append(got, e.Data...)
		case <-timeout:
			t.Fatalf("the stream got %q, then nothing", got)
		}
	}
	if string(got) != "the rest of the chunk" {
		t.Errorf("the stream got %q", got)
	}
	if got := r.received(); got != "HEAD" {
		t.Errorf("the protocol got %q, want only HEAD", got)
	}
	r.transport().Abort()
}

// dialBufferedTLS serves one TLS connection with r and returns the
// client's transport, aborted when the test ends.
func dialBufferedTLS(t *testing.T, r *bufRecorder) transport.Transport {
	t.Helper()
	server, client := tlsConfigs(t)
	srv := startServeTLS(t, server, func() *bufRecorder { return r })
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	ct, err := transport.DialTLS(ctx, "tcp", srv.Addr().String(), client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ct.Abort)
	return ct
}

//go:build linux

package adapters_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/transporttest"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// dgQuiet is how long a test watches for a callback that must not come.
// A slow machine only makes such a check more lenient, never wrong.
const dgQuiet = 200 * time.Millisecond

// DatagramProtocol callbacks as they appear in a recorded trace.
const (
	dgMade   = "CM"
	dgRecv   = "DG"
	dgErr    = "ERR"
	dgLost   = "CL"
	dgPause  = "PW"
	dgResume = "RW"
	dgMark   = "MARK" // put in the trace by the test itself
)

// dgEntry is one recorded callback.
type dgEntry struct {
	kind string
	data []byte   // DG
	addr net.Addr // DG
	err  error    // ERR, CL
	note string   // MARK
}

func (e dgEntry) String() string {
	switch e.kind {
	case dgRecv:
		return fmt.Sprintf("DG(%q)", e.data)
	case dgErr, dgLost:
		return fmt.Sprintf("%s(%v)", e.kind, e.err)
	case dgMark:
		return "MARK(" + e.note + ")"
	}
	return e.kind
}

// dgRecorder is a DatagramProtocol that records its callbacks in order and
// counts callbacks that run at once on different goroutines (CC2;
// PauseWriting and ResumeWriting nested in a callback's SendTo are not).
// Hooks are set before it reaches the adapter and run after recording.
type dgRecorder struct {
	onMade  func(t transport.DatagramTransport)
	onRecv  func(data []byte, addr net.Addr)
	onPause func()

	callGuard
	traceLog[dgEntry]
	t transport.DatagramTransport // guarded by mu
}

var _ adapters.DatagramProtocol = (*dgRecorder)(nil)

func newDgRecorder() *dgRecorder { return &dgRecorder{traceLog: newTraceLog[dgEntry]()} }

func (r *dgRecorder) mark(note string) { r.record(dgEntry{kind: dgMark, note: note}) }

func (r *dgRecorder) ConnectionMade(t transport.DatagramTransport) {
	defer r.exit(r.enter(false))
	r.mu.Lock()
	r.t = t
	r.mu.Unlock()
	r.record(dgEntry{kind: dgMade})
	if r.onMade != nil {
		r.onMade(t)
	}
}

func (r *dgRecorder) DatagramReceived(data []byte, addr net.Addr) {
	defer r.exit(r.enter(false))
	r.record(dgEntry{kind: dgRecv, data: bytes.Clone(data), addr: addr})
	if r.onRecv != nil {
		r.onRecv(data, addr)
	}
}

func (r *dgRecorder) ErrorReceived(err error) {
	defer r.exit(r.enter(false))
	r.record(dgEntry{kind: dgErr, err: err})
}

func (r *dgRecorder) ConnectionLost(err error) {
	defer r.exit(r.enter(false))
	r.record(dgEntry{kind: dgLost, err: err})
}

func (r *dgRecorder) PauseWriting() {
	defer r.exit(r.enter(true))
	r.record(dgEntry{kind: dgPause})
	if r.onPause != nil {
		r.onPause()
	}
}

func (r *dgRecorder) ResumeWriting() {
	defer r.exit(r.enter(true))
	r.record(dgEntry{kind: dgResume})
}

// waitCount waits until n callbacks of kind were recorded.
func (r *dgRecorder) waitCount(t testing.TB, kind string, n int) []dgEntry {
	t.Helper()
	return r.waitFor(t, fmt.Sprintf("%d × %s", n, kind), func(tr []dgEntry) bool { return dgCount(tr, kind) >= n })
}

// quiet fails the test if a callback of kind is recorded within dgQuiet
// beyond the n already there.
func (r *dgRecorder) quiet(t testing.TB, kind string, n int) {
	t.Helper()
	deadline := time.After(dgQuiet)
	for {
		r.mu.Lock()
		tr, changed := append([]dgEntry(nil), r.trace...), r.changed
		r.mu.Unlock()
		if dgCount(tr, kind) > n {
			t.Fatalf("more than %d × %s: %v", n, kind, tr)
		}
		select {
		case <-changed:
		case <-deadline:
			return
		}
	}
}

func dgCount(tr []dgEntry, kind string) int {
	n := 0
	for _, e := range tr {
		if e.kind == kind {
			n++
		}
	}
	return n
}

// checkDgTrace checks asyncio's order for a DatagramProtocol: CM first,
// CL last, once each; PW and RW alternate from PW in between. Marks are
// ignored.
func checkDgTrace(tr []dgEntry) error {
	var ks []string
	for _, e := range tr {
		if e.kind != dgMark {
			ks = append(ks, e.kind)
		}
	}
	if len(ks) < 2 || ks[0] != dgMade || ks[len(ks)-1] != dgLost {
		return fmt.Errorf("trace %v does not start with CM and end with CL", tr)
	}
	paused := false
	for i, k := range ks[1 : len(ks)-1] {
		switch k {
		case dgMade, dgLost:
			return fmt.Errorf("%s again at %d in %v", k, i+1, tr)
		case dgPause, dgResume:
			if (k == dgPause) == paused {
				return fmt.Errorf("%s at %d does not alternate in %v", k, i+1, tr)
			}
			paused = !paused
		}
	}
	return nil
}

// dgRawPeer is a plain bound datagram socket, closed when the test ends.
func dgRawPeer(t *testing.T, network string) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket(network, transporttest.LocalAddr(t, network))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// serveDg runs ListenDatagram with r on a fresh address; the endpoint is
// aborted when the test ends.
func serveDg(t *testing.T, network string, r *dgRecorder, opts ...transport.Option) transport.DatagramTransport {
	t.Helper()
	tr, p, err := adapters.ListenDatagram(context.Background(), network, transporttest.LocalAddr(t, network), func() *dgRecorder { return r }, opts...)
	if err != nil {
		t.Fatalf("ListenDatagram: %v", err)
	}
	if p != r {
		t.Fatalf("ListenDatagram returned protocol %p, want the factory's %p", p, r)
	}
	t.Cleanup(tr.Abort)
	return tr
}

// connectDg runs ConnectDatagram with r to raddr (bound first on
// unixgram, so that replies come back); aborted when the test ends.
func connectDg(t *testing.T, network, raddr string, r *dgRecorder, opts ...transport.Option) transport.DatagramTransport {
	t.Helper()
	if network == "unixgram" {
		opts = append(opts, transport.WithLocalAddr(transporttest.LocalAddr(t, network)))
	}
	tr, _, err := adapters.ConnectDatagram(context.Background(), network, raddr, func() *dgRecorder { return r }, opts...)
	if err != nil {
		t.Fatalf("ConnectDatagram: %v", err)
	}
	t.Cleanup(tr.Abort)
	return tr
}

// sockAddr returns an endpoint's "sockname".
func sockAddr(t *testing.T, tr transport.DatagramTransport) net.Addr {
	t.Helper()
	v, ok := tr.ExtraInfo(transport.InfoSockname)
	if !ok {
		t.Fatal(`no ExtraInfo("sockname")`)
	}
	return v.(net.Addr)
}

// peerWrite sends b from a raw socket to addr.
func peerWrite(t *testing.T, pc net.PacketConn, b []byte, addr net.Addr) {
	t.Helper()
	pc.SetWriteDeadline(time.Now().Add(failAfter))
	if _, err := pc.WriteTo(b, addr); err != nil {
		t.Fatalf("peer WriteTo: %v", err)
	}
}

// peerRead reads one datagram at a raw socket.
func peerRead(t *testing.T, pc net.PacketConn) []byte {
	t.Helper()
	pc.SetReadDeadline(time.Now().Add(failAfter))
	buf := make([]byte, 64<<10)
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("peer ReadFrom: %v", err)
	}
	return buf[:n]
}

func dgWritable(t transport.DatagramTransport) bool {
	select {
	case <-t.Writable():
		return true
	default:
		return false
	}
}

// forDgNet runs f per datagram network.
func forDgNet(t *testing.T, f func(t *testing.T, network string)) {
	for _, network := range []string{"udp", "unixgram"} {
		t.Run(network, func(t *testing.T) { f(t, network) })
	}
}

// TestLC1_LC2_DatagramProtocolOrder checks, for ListenDatagram and
// ConnectDatagram, that ConnectionMade comes first with the endpoint,
// then one DatagramReceived per datagram (an empty one included, D4) with
// its data and the sender's address, and ConnectionLost(nil) last after
// Close.
func TestLC1_LC2_DatagramProtocolOrder(t *testing.T) {
	forDgNet(t, func(t *testing.T, network string) {
		for _, connected := range []bool{false, true} {
			t.Run(fmt.Sprintf("connected=%v", connected), func(t *testing.T) {
				peer := dgRawPeer(t, network)
				r := newDgRecorder()
				var tr transport.DatagramTransport
				if connected {
					tr = connectDg(t, network, peer.LocalAddr().String(), r)
				} else {
					tr = serveDg(t, network, r)
				}
				want := []string{"one", "", "three"}
				for _, s := range want {
					peerWrite(t, peer, []byte(s), sockAddr(t, tr))
				}
				r.waitCount(t, dgRecv, len(want))
				tr.Close()
				trace := r.waitCount(t, dgLost, 1)
				if err := checkDgTrace(trace); err != nil {
					t.Fatal(err)
				}
				if r.t != tr {
					t.Errorf("ConnectionMade got %v, want the endpoint ListenDatagram returned", r.t)
				}
				i := 0
				for _, e := range trace {
					if e.kind != dgRecv {
						continue
					}
					if string(e.data) != want[i] || e.addr == nil || e.addr.String() != peer.LocalAddr().String() {
						t.Errorf("DatagramReceived(%q, %v), want (%q, %v)", e.data, e.addr, want[i], peer.LocalAddr())
					}
					i++
				}
				if err := trace[len(trace)-1].err; err != nil {
					t.Errorf("ConnectionLost(%v) after Close, want nil", err)
				}
				if r.overlaps.Load() != 0 {
					t.Errorf("%d callbacks overlapped", r.overlaps.Load())
				}
			})
		}
	})
}

// TestRD1_DatagramEchoServeConnect echoes 20 numbered datagrams through a
// ListenDatagram server and a ConnectDatagram client: every echo comes
// back in order, from the server's address.
func TestRD1_DatagramEchoServeConnect(t *testing.T) {
	const n = 20
	forDgNet(t, func(t *testing.T, network string) {
		server := newDgRecorder()
		server.onRecv = func(data []byte, addr net.Addr) {
			if err := server.t.SendTo(data, addr); err != nil { // set by ConnectionMade
				t.Errorf("echo SendTo(%v): %v", addr, err)
			}
		}
		srv := serveDg(t, network, server)
		client := newDgRecorder()
		cl := connectDg(t, network, sockAddr(t, srv).String(), client)
		for i := range n {
			if err := cl.SendTo(fmt.Appendf(nil, "msg %d", i), nil); err != nil {
				t.Fatalf("client SendTo: %v", err)
			}
		}
		trace := client.waitCount(t, dgRecv, n)
		i := 0
		for _, e := range trace {
			if e.kind == dgRecv {
				if want := fmt.Sprintf("msg %d", i); string(e.data) != want || e.addr.String() != sockAddr(t, srv).String() {
					t.Fatalf("echo %d: %q from %v, want %q from %v", i, e.data, e.addr, want, sockAddr(t, srv))
				}
				i++
			}
		}
		cl.Close()
		srv.Close()
		for _, r := range []*dgRecorder{client, server} {
			if err := checkDgTrace(r.waitCount(t, dgLost, 1)); err != nil {
				t.Error(err)
			}
		}
	})
}

// TestD6_DatagramProtocolErrorReceived connects to a UDP port nobody
// listens on: ErrorReceived gets ECONNREFUSED, the endpoint stays open,
// and ConnectionLost(nil) follows Close.
func TestD6_DatagramProtocolErrorReceived(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close()
	r := newDgRecorder()
	tr := connectDg(t, "udp", dead, r)
	for i := 0; ; i++ {
		if i == 200 {
			t.Fatalf("no ErrorReceived after %d sends to a closed port", i)
		}
		if err := tr.SendTo([]byte("anyone?"), nil); err != nil {
			t.Fatalf("SendTo: %v", err)
		}
		r.mu.Lock()
		changed, got := r.changed, dgCount(r.trace, dgErr)
		r.mu.Unlock()
		if got > 0 {
			break
		}
		select {
		case <-changed:
		case <-time.After(50 * time.Millisecond): // send again, as asyncio's test does
		}
	}
	trace := r.waitCount(t, dgErr, 1)
	for _, e := range trace {
		if e.kind == dgErr && !errors.Is(e.err, syscall.ECONNREFUSED) {
			t.Fatalf("ErrorReceived(%v), want ECONNREFUSED", e.err)
		}
	}
	if tr.IsClosing() {
		t.Fatalf("IsClosing true after ErrorReceived")
	}
	tr.Close()
	if err := checkDgTrace(r.waitCount(t, dgLost, 1)); err != nil {
		t.Fatal(err)
	}
}

// TestER2_DatagramCallbackPanic checks that a panic in DatagramReceived
// or in ConnectionMade ends that endpoint: ConnectionLost gets a
// *adapters.PanicError carrying the value, SendTo is refused, and
// ListenDatagram returns the error for a ConnectionMade panic.
func TestER2_DatagramCallbackPanic(t *testing.T) {
	forDgNet(t, func(t *testing.T, network string) {
		t.Run("DatagramReceived", func(t *testing.T) {
			r := newDgRecorder()
			r.onRecv = func([]byte, net.Addr) { panic(panicValue{"DatagramReceived"}) }
			tr := serveDg(t, network, r)
			peer := dgRawPeer(t, network)
			peerWrite(t, peer, []byte("boom"), sockAddr(t, tr))
			trace := r.waitCount(t, dgLost, 1)
			var pe *adapters.PanicError
			if err := trace[len(trace)-1].err; !errors.As(err, &pe) || pe.Value != (panicValue{"DatagramReceived"}) {
				t.Fatalf("ConnectionLost(%v), want a *PanicError with the panic value", err)
			}
			if err := checkDgTrace(trace); err != nil {
				t.Fatal(err)
			}
			if !tr.IsClosing() {
				t.Fatalf("IsClosing false after a panicking callback")
			}
			if err := tr.SendTo([]byte("x"), peer.LocalAddr()); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("SendTo after the panic = %v, want net.ErrClosed", err)
			}
		})
		t.Run("ConnectionMade", func(t *testing.T) {
			r := newDgRecorder()
			r.onMade = func(transport.DatagramTransport) { panic(panicValue{"ConnectionMade"}) }
			tr, _, err := adapters.ListenDatagram(context.Background(), network, transporttest.LocalAddr(t, network), func() *dgRecorder { return r })
			var pe *adapters.PanicError
			if !errors.As(err, &pe) || tr != nil {
				if tr != nil {
					tr.Abort()
				}
				t.Fatalf("ListenDatagram = %v, %v; want nil and a *PanicError", tr, err)
			}
			trace := r.waitCount(t, dgLost, 1)
			if lost := trace[len(trace)-1].err; !errors.As(lost, &pe) {
				t.Fatalf("ConnectionLost(%v), want the *PanicError", lost)
			}
		})
	})
}

// TestER1_AdaptDatagramClaimed checks that AdaptDatagram refuses an
// endpoint whose events already have a consumer, and leaves it working.
func TestER1_AdaptDatagramClaimed(t *testing.T) {
	tr, err := transport.ListenPacket(context.Background(), "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Abort()
	ch := tr.Events()
	if err := adapters.AdaptDatagram(tr, newDgRecorder()); !errors.Is(err, adapters.ErrNotAdaptable) {
		t.Fatalf("AdaptDatagram on a claimed endpoint = %v, want ErrNotAdaptable", err)
	}
	if tr.IsClosing() {
		t.Fatalf("a refused AdaptDatagram closed the endpoint")
	}
	select {
	case e := <-ch:
		if e.Kind != stream.Made {
			t.Fatalf("first event %v, want Made", e)
		}
	case <-time.After(failAfter):
		t.Fatal("no Made")
	}
}

package transport_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// Tests of Done and Err (DESIGN: Decisions, "End of a transport").

// doneBig is more than a socket's or a pipe's kernel buffers take, so that
// Close has a flush to do while the peer does not read.
const doneBig = 16 << 20

// waitDone waits for tr's Done, failing the test after waitTimeout.
func waitDone(t *testing.T, tr transport.BaseTransport) {
	t.Helper()
	select {
	case <-tr.Done():
	case <-time.After(waitTimeout):
		t.Fatalf("Done not closed within %v", waitTimeout)
	}
}

// notDone fails the test when tr's Done is closed already, or Err is not
// nil.
func notDone(t *testing.T, tr transport.BaseTransport, when string) {
	t.Helper()
	select {
	case <-tr.Done():
		t.Fatalf("Done closed %s", when)
	default:
	}
	if err := tr.Err(); err != nil {
		t.Fatalf("Err() = %v %s, want nil before Done", err, when)
	}
}

// pattern returns n bytes that differ from one offset to the next.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}

// writeBuffered writes p and checks that part of it is left in the write
// buffer (the peer is not reading).
func writeBuffered(t *testing.T, w transport.WriteTransport, p []byte) {
	t.Helper()
	if _, err := w.Write(p); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if w.WriteBufferSize() == 0 {
		t.Fatalf("the kernel took all %d bytes: nothing left to flush", len(p))
	}
}

// readAllAsync reads r to its end on a goroutine; the channel gives what
// it read.
func readAllAsync(r io.Reader) <-chan []byte {
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		got <- b
	}()
	return got
}

// TestLC4_DoneAfterCloseFlushes: Write, Close, <-Done is the whole
// program: Done comes after the flush, so the peer has every byte, and
// the transport needs no consumer for it.
func TestLC4_DoneAfterCloseFlushes(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		srv := listen(t, network)
		peer := dial(t, srv)
		tr := accept(t, srv) // its events are never claimed
		want := pattern(doneBig)
		writeBuffered(t, tr, want)
		tr.Close()
		notDone(t, tr, "while Close still flushes to a peer that does not read")
		peer.SetReadDeadline(time.Now().Add(waitTimeout))
		got := readAllAsync(peer)
		waitDone(t, tr)
		if err := tr.Err(); err != nil {
			t.Fatalf("Err() = %v after a complete flush, want nil", err)
		}
		if b := <-got; !bytes.Equal(b, want) {
			t.Fatalf("peer got %d bytes, want the %d written", len(b), len(want))
		}
	})
}

// TestLC3_ErrAfterReset: a reset during Close's flush is Err's value,
// and Lost's.
func TestLC3_ErrAfterReset(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		srv := listen(t, network)
		peer := dial(t, srv)
		tr := accept(t, srv)
		writeBuffered(t, tr, pattern(doneBig))
		tr.Close()
		notDone(t, tr, "while Close still flushes")
		if tc, ok := peer.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with a reset
		}
		peer.Close()
		waitDone(t, tr)
		err := tr.Err()
		if err == nil {
			t.Fatalf("Err() = nil after the peer reset the flush")
		}
		if lost := waitLost(t, tr.Events()); lost.Err != err {
			t.Fatalf("Lost(%v), Err() = %v: want the same error", lost.Err, err)
		}
	})
}

// TestLC4_DoneWithoutConsumer: Abort and Close end a transport nobody
// consumes; Done is one channel, Err nil for these clean ends.
func TestLC4_DoneWithoutConsumer(t *testing.T) {
	for _, end := range []string{"Close", "Abort"} {
		t.Run(end, func(t *testing.T) {
			srv := listen(t, "tcp")
			dial(t, srv)
			tr := accept(t, srv)
			if _, err := tr.Write([]byte("bye")); err != nil {
				t.Fatalf("Write: %v", err)
			}
			notDone(t, tr, "on an open transport")
			if done := tr.Done(); tr.Done() != done {
				t.Fatalf("Done returned two channels")
			}
			if end == "Close" {
				tr.Close()
			} else {
				tr.Abort()
			}
			waitDone(t, tr)
			if err := tr.Err(); err != nil {
				t.Fatalf("Err() = %v after %s, want nil", err, end)
			}
			tr.Close() // idempotent after Done
			if err := tr.Err(); err != nil {
				t.Fatalf("Err() = %v after a second end, want nil", err)
			}
		})
	}
}

// TestLC3_DoneAfterPeerEOF: the close after the peer's EOF (once the
// consumer has EOF) closes Done before Lost is read, and Err is Lost's
// nil.
func TestLC3_DoneAfterPeerEOF(t *testing.T) {
	srv := listen(t, "tcp")
	peer := dial(t, srv)
	tr := accept(t, srv)
	ch := tr.Events()
	peer.Close()
	spUntil(t, ch, "EOF", isKind(stream.EOF))
	waitDone(t, tr)
	if err := tr.Err(); err != nil {
		t.Fatalf("Err() = %v after the peer's EOF, want nil", err)
	}
	if lost := waitLost(t, ch); lost.Err != nil {
		t.Fatalf("Lost(%v), want nil", lost.Err)
	}
}

// TestTL1_DoneAfterCloseNotify: a TLS transport is done once the
// close_notify exchange is over, not when its own close_notify is sent.
func TestTL1_DoneAfterCloseNotify(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		tr, peer := tlsPair(t, side, nil)
		if _, err := tr.Write([]byte("bye")); err != nil {
			t.Fatalf("Write: %v", err)
		}
		tr.Close()
		peer.SetReadDeadline(time.Now().Add(waitTimeout))
		if b, err := io.ReadAll(peer); err != nil || string(b) != "bye" {
			t.Fatalf("peer read %q, %v; want bye then close_notify", b, err)
		}
		notDone(t, tr, "before the peer's close_notify")
		peer.Close()
		waitDone(t, tr)
		if err := tr.Err(); err != nil {
			t.Fatalf("Err() = %v after the close_notify exchange, want nil", err)
		}
	})
}

// TestLC4_DatagramDone: a datagram endpoint nobody consumes is done after
// Close.
func TestLC4_DatagramDone(t *testing.T) {
	tr, err := transport.ListenPacket(context.Background(), "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("ListenPacket: %v", err)
	}
	t.Cleanup(tr.Abort)
	self, _ := tr.ExtraInfo("sockname")
	if err := tr.SendTo([]byte("x"), self.(net.Addr)); err != nil {
		t.Fatalf("SendTo: %v", err)
	}
	notDone(t, tr, "on an open endpoint")
	tr.Close()
	waitDone(t, tr)
	if err := tr.Err(); err != nil {
		t.Fatalf("Err() = %v after Close, want nil", err)
	}
}

// TestLC4_PipeDoneAfterCloseFlushes: a write pipe's Done comes after its
// flush; a reader gone during the flush is Err's EPIPE.
func TestLC4_PipeDoneAfterCloseFlushes(t *testing.T) {
	for _, reader := range []string{"reads", "gone"} {
		t.Run(reader, func(t *testing.T) {
			r, w := osPipe(t)
			tr := writePipe(t, w)
			want := pattern(1 << 20)
			writeBuffered(t, tr, want)
			tr.Close()
			notDone(t, tr, "while Close still flushes")
			var got <-chan []byte
			if reader == "reads" {
				got = readAllAsync(r)
			} else {
				r.Close()
			}
			waitDone(t, tr)
			err := tr.Err()
			if reader == "gone" {
				if err == nil {
					t.Fatalf("Err() = nil after the reader went away")
				}
				return
			}
			if err != nil {
				t.Fatalf("Err() = %v after a complete flush, want nil", err)
			}
			if b := <-got; !bytes.Equal(b, want) {
				t.Fatalf("reader got %d bytes, want the %d written", len(b), len(want))
			}
		})
	}
}

// TestSP1_DoneAfterReapAndPipes: a subprocess transport nobody consumes is
// done once its child is reaped and its pipes are closed.
func TestSP1_DoneAfterReapAndPipes(t *testing.T) {
	sp := spExec(t, childCmd(t, "echo"))
	notDone(t, sp, "while the child runs")
	sp.Close() // closes stdin: the child exits at EOF (or is killed)
	waitDone(t, sp)
	if _, ok := sp.ReturnCode(); !ok {
		t.Fatalf("Done before the child was reaped")
	}
	for fd := range 3 {
		pt, _ := sp.PipeTransport(fd)
		select {
		case <-pt.Done():
		default:
			t.Fatalf("subprocess Done before pipe %d's", fd)
		}
	}
	if err := sp.Err(); err != nil {
		t.Fatalf("Err() = %v, want nil", err)
	}
}

// TestSP1_DoneWithConsumer: a consumed subprocess transport's Done comes
// before Lost is read, and Err is Lost's error.
func TestSP1_DoneWithConsumer(t *testing.T) {
	sp := spExec(t, childCmd(t, "write", "1", "out"))
	ch := sp.Events()
	spUntil(t, ch, "Exited", isKind(stream.Exited))
	waitDone(t, sp)
	if lost := waitLost(t, ch); lost.Err != sp.Err() {
		t.Fatalf("Lost(%v), Err() = %v: want the same", lost.Err, sp.Err())
	}
}

// TestServerRegisterOnShutdown: Shutdown, once its listener is closed,
// starts each registered function in its own goroutine; one that closes
// the live transports lets Shutdown return.
func TestServerRegisterOnShutdown(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		srv := listen(t, network)
		peer := dial(t, srv)
		tr := accept(t, srv) // unconsumed: only a Close ends it
		addr := srv.Addr()
		refused := make(chan error, 1)
		srv.RegisterOnShutdown(func() {
			c, err := net.Dial(addr.Network(), addr.String())
			if err == nil {
				c.Close()
			}
			refused <- err
		})
		srv.RegisterOnShutdown(func() { tr.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v (the registered Close did not run?)", err)
		}
		waitDone(t, tr)
		if err := <-refused; err == nil {
			t.Fatalf("a registered function ran before the listener closed")
		}
		expectPeerEnd(t, peer)
	})
}

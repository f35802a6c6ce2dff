package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// TestTL1_T3_TLSCloseWaitsForCloseNotify: Close flushes, sends
// close_notify, waits for the peer's (dropping what comes before it),
// then ends with Lost(nil); the peer's answer may be a Close or a
// CloseWrite.
func TestTL1_T3_T7_TLSCloseWaitsForCloseNotify(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		for _, answer := range []string{"close", "closewrite"} {
			t.Run(answer, func(t *testing.T) {
				tr, peer := tlsPair(t, side, nil)
				ch := tr.Events()
				tlsMade(t, ch)
				tlsWrite(t, tr, "bye")
				tr.Close()
				if got := tlsPeerReadToCloseNotify(t, peer); got != "bye" {
					t.Fatalf("peer read %q before close_notify, want bye", got)
				}
				select {
				case e := <-ch:
					t.Fatalf("%v before the peer's close_notify", e)
				default:
				}
				tlsWrite(t, peer, "late") // read and dropped
				if answer == "close" {
					peer.Close()
				} else {
					peer.CloseWrite()
				}
				evs := tlsUntilLost(t, ch)
				if e := evs[len(evs)-1]; e.Err != nil || tlsHas(evs, stream.Data) || tlsHas(evs, stream.EOF) {
					t.Fatalf("after Close: %v, want only Lost(nil)", evs)
				}
				if answer == "closewrite" { // the transport closes the socket
					peer.raw.SetReadDeadline(time.Now().Add(waitTimeout))
					if n, err := io.Copy(io.Discard, peer.raw); n != 0 || err != nil {
						t.Fatalf("peer's socket: %d more bytes, %v; want a FIN", n, err)
					}
				}
			})
		}
	})
}

// TestTL1_T3_TLSShutdownTimeout: a peer that never answers close_notify
// ends the transport after the shutdown timeout with ErrShutdownTimeout.
func TestTL1_T3_TLSShutdownTimeout(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		tr, peer := tlsPair(t, side, nil, transport.WithShutdownTimeout(tlsShort))
		ch := tr.Events()
		tlsMade(t, ch)
		tr.Close()
		if e := waitLost(t, ch); !errors.Is(e.Err, transport.ErrShutdownTimeout) {
			t.Fatalf("Lost(%v), want ErrShutdownTimeout", e.Err)
		}
		tlsPeerReadToCloseNotify(t, peer)
		expectPeerEnd(t, peer.raw)
	})
}

// TestTL1_T5_TLSAbortIsLostNilAtOnce: Abort does not wait for the peer,
// even during Close's wait; a second Close is a no-op and ExtraInfo still
// works after Lost.
func TestTL1_T5_TLSAbortIsLostNilAtOnce(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		for _, closeFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("close_first=%v", closeFirst), func(t *testing.T) {
				// The default shutdown timeout (30 s) outlasts waitTimeout.
				tr, peer := tlsPair(t, side, nil)
				ch := tr.Events()
				tlsMade(t, ch)
				peerName, _ := tr.ExtraInfo(transport.InfoPeername)
				if closeFirst {
					tr.Close()
				}
				tr.Abort()
				if !tr.IsClosing() {
					t.Errorf("IsClosing false after Abort")
				}
				if e := waitLost(t, ch); e.Err != nil {
					t.Fatalf("Lost(%v), want nil", e.Err)
				}
				srvClosed(t, ch, "event channel")
				if err := tr.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
				tr.Abort()
				if v, ok := tr.ExtraInfo(transport.InfoPeername); !ok || v != peerName {
					t.Errorf(`ExtraInfo("peername") after Lost = %v, %v; want %v`, v, ok, peerName)
				}
				if v, ok := tr.ExtraInfo(transport.InfoCipher); !ok || v.(transport.CipherInfo).Version != "TLS 1.3" {
					t.Errorf(`ExtraInfo("cipher") after Lost = %v, %v`, v, ok)
				}
				if v, ok := tr.ExtraInfo(transport.InfoSSLObject); !ok || !v.(tls.ConnectionState).HandshakeComplete {
					t.Errorf(`ExtraInfo("ssl_object") after Lost = %v, %v`, v, ok)
				}
				expectPeerEnd(t, peer.raw)
			})
		}
	})
}

// TestTL1_R10_TLSBareFINIsTruncation: the peer's socket ending without a
// close_notify is Lost(ErrTruncated), never EOF (uvloop's choice).
func TestTL1_R10_TLSBareFINIsTruncation(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		for _, how := range []string{"close", "closewrite", "partial_record"} {
			t.Run(how, func(t *testing.T) {
				tr, peer := tlsPair(t, side, nil, transport.WithHalfClose())
				ch := tr.Events()
				tlsMade(t, ch)
				tlsWrite(t, tr, "ping")
				tlsPeerRead(t, peer, 4) // and the session tickets before it
				tlsWrite(t, peer, "hello")
				if got := tlsData(t, ch, 5); got != "hello" {
					t.Fatalf("read %q, want hello", got)
				}
				switch how {
				case "close":
					peer.raw.Close()
				case "closewrite":
					peer.raw.CloseWrite()
				case "partial_record": // an application-data header promising 32 bytes, and 3
					peer.raw.Write([]byte{23, 3, 3, 0, 32, 1, 2, 3})
					peer.raw.CloseWrite()
				}
				evs := tlsUntilLost(t, ch)
				err := evs[len(evs)-1].Err
				var oe *net.OpError
				if len(evs) != 1 || !errors.Is(err, transport.ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) ||
					!errors.As(err, &oe) || oe.Op != "read" {
					t.Fatalf("got %v (Lost %v), want only Lost(ErrTruncated in a read *net.OpError)", evs, err)
				}
				if !tr.IsClosing() {
					t.Errorf("IsClosing false after Lost")
				}
			})
		}
	})
}

// TestTL1_R2_R4_TLSCloseNotifyIsEOFHalfOpen: under TLS 1.3 the peer's
// close_notify is EOF, and WithHalfClose keeps the transport writable.
func TestTL1_R2_R4_TLSCloseNotifyIsEOFHalfOpen(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		tr, peer := tlsPair(t, side, nil, transport.WithHalfClose())
		ch := tr.Events()
		tlsMade(t, ch)
		tlsWrite(t, peer, "last")
		peer.CloseWrite()
		if got := tlsData(t, ch, 4); got != "last" {
			t.Fatalf("read %q, want last", got)
		}
		if e := nextEvent(t, ch); e.Kind != stream.EOF {
			t.Fatalf("got %v, want EOF", e)
		}
		if tr.IsClosing() || tr.IsReading() {
			t.Errorf("after EOF: IsClosing %v, IsReading %v; want false, false", tr.IsClosing(), tr.IsReading())
		}
		tlsWrite(t, tr, "after")
		if got := tlsPeerRead(t, peer, 5); got != "after" {
			t.Fatalf("peer read %q, want after", got)
		}
		tr.Close()
		if evs := tlsUntilLost(t, ch); len(evs) != 1 || evs[0].Err != nil {
			t.Fatalf("after Close: %v, want Lost(nil)", evs)
		}
		tlsPeerReadToCloseNotify(t, peer)
	})
}

// TestTL1_RD4_TLSCloseNotifyClosesWithoutHalfClose: without WithHalfClose
// the transport answers the peer's close_notify with its own and ends.
func TestTL1_RD4_TLSCloseNotifyClosesWithoutHalfClose(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		tr, peer := tlsPair(t, side, nil)
		ch := tr.Events()
		tlsMade(t, ch)
		tlsPeerEndsWithLast(t, ch, peer)
	})
}

// TestTL1_W14_TLSWriteEOFSendsCloseNotify: under TLS 1.3 WriteEOF sends
// close_notify after the data, later writes fail, and reading goes on.
func TestTL1_W14_TLSWriteEOFSendsCloseNotify(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		tr, peer := tlsPair(t, side, nil)
		ch := tr.Events()
		tlsMade(t, ch)
		if !tr.CanWriteEOF() {
			t.Fatalf("CanWriteEOF false under TLS 1.3")
		}
		tlsWrite(t, tr, "data")
		if err := tr.WriteEOF(); err != nil {
			t.Fatalf("WriteEOF: %v", err)
		}
		if got := tlsPeerReadToCloseNotify(t, peer); got != "data" {
			t.Fatalf("peer read %q before close_notify, want data", got)
		}
		if _, err := tr.Write([]byte("more")); !errors.Is(err, transport.ErrEOFWritten) {
			t.Errorf("Write after WriteEOF: %v, want ErrEOFWritten", err)
		}
		if err := tr.WriteEOF(); err != nil {
			t.Errorf("second WriteEOF: %v", err)
		}
		tlsWrite(t, peer, "back")
		if got := tlsData(t, ch, 4); got != "back" {
			t.Fatalf("read %q, want back", got)
		}
		peer.Close()
		evs := tlsUntilLost(t, ch)
		if len(evs) != 2 || evs[0].Kind != stream.EOF || evs[1].Err != nil {
			t.Fatalf("got %v, want EOF, Lost(nil)", evs)
		}
	})
}

// TestTL1_T1_W14_R9_TLS12CannotHalfClose: under TLS 1.2 WriteEOF is
// unsupported, and the peer's close_notify closes the transport even
// with WithHalfClose.
func TestTL1_T1_W14_R9_TLS12CannotHalfClose(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		tr, peer := tlsPair(t, side, func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }, transport.WithHalfClose())
		ch := tr.Events()
		tlsMade(t, ch)
		if v, _ := tr.ExtraInfo(transport.InfoCipher); v.(transport.CipherInfo).Version != "TLS 1.2" {
			t.Fatalf("cipher %v, want TLS 1.2", v)
		}
		if tr.CanWriteEOF() {
			t.Errorf("CanWriteEOF true under TLS 1.2")
		}
		if err := tr.WriteEOF(); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("WriteEOF: %v, want errors.ErrUnsupported", err)
		}
		tlsWrite(t, tr, "still")
		if got := tlsPeerRead(t, peer, 5); got != "still" {
			t.Fatalf("peer read %q, want still", got)
		}
		tlsPeerEndsWithLast(t, ch, peer)
	})
}

// TestTL1_WR2_TLSWriteAfterCloseIsErrClosed: writes after Close are
// refused while Close waits for close_notify, and nothing of them is
// sent.
func TestTL1_WR2_TLSWriteAfterCloseIsErrClosed(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		tr, peer := tlsPair(t, side, nil)
		ch := tr.Events()
		tlsMade(t, ch)
		tr.Close()
		if _, err := tr.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after Close: %v, want net.ErrClosed", err)
		}
		if _, err := tr.WriteBuffers([][]byte{[]byte("y")}); !errors.Is(err, net.ErrClosed) {
			t.Errorf("WriteBuffers after Close: %v, want net.ErrClosed", err)
		}
		if err := tr.WriteEOF(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("WriteEOF after Close: %v, want net.ErrClosed", err)
		}
		if got := tlsPeerReadToCloseNotify(t, peer); got != "" {
			t.Errorf("peer read %q, want nothing before close_notify", got)
		}
		peer.Close()
		if e := waitLost(t, ch); e.Err != nil {
			t.Fatalf("Lost(%v), want nil", e.Err)
		}
		if _, err := tr.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after Lost: %v, want net.ErrClosed", err)
		}
	})
}

// TestTL1_T3_T7_TLSCloseRacingPeerAnswer: however fast the peer answers
// Close's close_notify, the transport ends with Lost(nil) at once, and
// delivers no EOF after Close.
func TestTL1_T3_T7_TLSCloseRacingPeerAnswer(t *testing.T) {
	for i := range 100 {
		// Long enough for any answer; a lost one shows as ErrShutdownTimeout.
		tr, peer := tlsPair(t, "dialed", nil, transport.WithShutdownTimeout(2*time.Second))
		ch := tr.Events()
		tlsMade(t, ch)
		tr.Close()
		tlsPeerReadToCloseNotify(t, peer)
		peer.Close()
		if evs := tlsUntilLost(t, ch); len(evs) != 1 || evs[0].Err != nil {
			t.Fatalf("connection %d: after Close: %v, want only Lost(nil)", i, evs)
		}
	}
}

// tlsPeerEndsWithLast has the peer send "last" and its close_notify, and
// checks that the transport delivers the data, EOF and Lost(nil),
// answering with its own close_notify: the transport closes at the
// peer's close_notify.
func tlsPeerEndsWithLast(t *testing.T, ch <-chan stream.Event, peer *tlsPeer) {
	t.Helper()
	tlsWrite(t, peer, "last")
	peer.CloseWrite()
	if got := tlsData(t, ch, 4); got != "last" {
		t.Fatalf("read %q, want last", got)
	}
	evs := tlsUntilLost(t, ch)
	if len(evs) != 2 || evs[0].Kind != stream.EOF || evs[1].Err != nil {
		t.Fatalf("got %v, want EOF, Lost(nil)", evs)
	}
	tlsPeerReadToCloseNotify(t, peer)
}

// TestTL1_T3_Defect6_UnclaimedCloseEndsWhenPeerAnswers: Close on a TLS
// transport whose events nobody claimed sends close_notify and reads the
// peer's answer itself: the socket closes as soon as the peer answers,
// not after the shutdown timeout (an hour here), and a later claim sees
// Made and Lost(nil).
func TestTL1_T3_Defect6_UnclaimedCloseEndsWhenPeerAnswers(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		tr, peer := tlsPair(t, side, nil, transport.WithShutdownTimeout(time.Hour))
		tlsWrite(t, tr, "bye")
		tr.Close()
		if got := tlsPeerReadToCloseNotify(t, peer); got != "bye" {
			t.Fatalf("peer read %q before close_notify, want bye", got)
		}
		tlsWrite(t, peer, "late") // read and dropped
		if err := peer.CloseWrite(); err != nil {
			t.Fatalf("peer CloseWrite: %v", err)
		}
		tlsPeerSeesFIN(t, peer)
		ch := tr.Events()
		tlsMade(t, ch)
		if evs := tlsUntilLost(t, ch); len(evs) != 1 || evs[0].Err != nil {
			t.Fatalf("a claim after Close got %v, want only Lost(nil)", evs)
		}
	})
}

// TestTL1_T3_Defect6_ShutdownAfterUnclaimedClose: Server.Shutdown returns
// nil as soon as the peer of an accepted transport closed with Close,
// its events never claimed, answers close_notify.
func TestTL1_T3_Defect6_ShutdownAfterUnclaimedClose(t *testing.T) {
	_, server, client := tlsCerts(t)
	srv := tlsListen(t, server, transport.WithShutdownTimeout(time.Hour))
	client.ServerName = "localhost"
	peer, err := tlsDialPeer(srv.Addr().String(), client)
	if err != nil {
		t.Fatalf("peer handshake: %v", err)
	}
	defer peer.Close()
	tr := accept(t, srv)
	tr.Close()
	tlsPeerReadToCloseNotify(t, peer)
	if err := peer.CloseWrite(); err != nil {
		t.Fatalf("peer CloseWrite: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v; want nil once the peer answered close_notify", err)
	}
	if st := srv.Stats(); st.Open != 0 {
		t.Errorf("Stats().Open = %d after Shutdown, want 0", st.Open)
	}
	tlsPeerSeesFIN(t, peer)
	ch := tr.Events()
	tlsMade(t, ch)
	if e := waitLost(t, ch); e.Err != nil {
		t.Fatalf("Lost(%v) after Shutdown, want nil", e.Err)
	}
}

// tlsPeerSeesFIN reads the peer's socket until the transport closes it:
// no more bytes, then EOF.
func tlsPeerSeesFIN(t *testing.T, peer *tlsPeer) {
	t.Helper()
	peer.raw.SetReadDeadline(time.Now().Add(waitTimeout))
	if n, err := io.Copy(io.Discard, peer.raw); n != 0 || err != nil {
		t.Fatalf("peer's socket: %d more bytes, %v; want the transport to close it", n, err)
	}
}

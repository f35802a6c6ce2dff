package adapters_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// TestTL1_R9_EOFReceivedKeepsOpenOnlyUnderTLS13: EOFReceived returning
// true after the peer's close_notify keeps the transport writable under
// TLS 1.3 (a half-close), and is ignored under TLS 1.2, which cannot
// half-close: ConnectionLost follows (asyncio R9).
func TestTL1_R9_EOFReceivedKeepsOpenOnlyUnderTLS13(t *testing.T) {
	serverCfg, clientCfg := tlsConfigs(t)

	t.Run("TLS 1.2 closes anyway", func(t *testing.T) {
		server := newRecorder()
		server.onData = func(b []byte) { server.transport().Write(b) }
		server.onEOF = func() bool { return true }
		srv := startServeTLS(t, serverCfg, only(server))
		client := newRecorder()
		tr := connectTLS(t, srv, tweak(clientCfg, func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }), client)
		if v := tlsVersion(tr); v != "TLS 1.2" {
			t.Fatalf("negotiated %q, want TLS 1.2", v)
		}
		if tr.CanWriteEOF() {
			t.Error("CanWriteEOF true under TLS 1.2")
		}
		if err := tr.WriteEOF(); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("WriteEOF under TLS 1.2: %v, want errors.ErrUnsupported", err)
		}
		tr.Write([]byte("still open")) // the failed WriteEOF changed nothing
		waitReceived(t, client, "still open")
		tr.Close() // close_notify
		checkKinds(t, "server", server.waitLost(t), cbMade, cbData, cbEOF, cbLost)
		checkKinds(t, "client", client.waitLost(t), cbMade, cbData, cbLost)
		if err := lostErr(server.snapshot()); err != nil {
			t.Errorf("server ConnectionLost(%v), want nil", err)
		}
	})

	t.Run("TLS 1.3 half-close", func(t *testing.T) {
		server := newRecorder()
		server.onEOF = func() bool {
			server.transport().Write([]byte("back"))
			return true
		}
		srv := startServeTLS(t, serverCfg, only(server))
		client := newRecorder()
		tr := connectTLS(t, srv, clientCfg, client)
		if err := tr.WriteEOF(); err != nil {
			t.Fatalf("WriteEOF: %v", err)
		}
		waitReceived(t, client, "back")
		st := server.transport()
		if st.IsClosing() || st.IsReading() {
			t.Errorf("after a kept EOF: IsClosing %v, IsReading %v; want false, false", st.IsClosing(), st.IsReading())
		}
		if _, err := st.Write([]byte(" and more")); err != nil {
			t.Fatalf("Write after a kept EOF: %v", err)
		}
		waitReceived(t, client, "back and more")
		st.Close()
		checkKinds(t, "server", server.waitLost(t), cbMade, cbEOF, cbLost)
		ctr := client.waitLost(t)
		checkKinds(t, "client", ctr, cbMade, cbData, cbData, cbEOF, cbLost)
		if err := lostErr(ctr); err != nil {
			t.Errorf("client ConnectionLost(%v), want nil", err)
		}
	})
}

// TestTL1_R11_T7_CloserEndsWithLostNil: the side that calls Close sends
// close_notify and ends with ConnectionLost(nil) once the peer answers;
// rxnet calls no DataReceived or EOFReceived after Close (asyncio R11
// and T7 deliver them; rxnet suppresses them by design), even for data
// the peer wrote before its close_notify.
func TestTL1_R11_T7_CloserEndsWithLostNil(t *testing.T) {
	serverCfg, clientCfg := tlsConfigs(t)
	for _, tt := range []struct {
		name    string
		version uint16
	}{
		{"TLS 1.2", tls.VersionTLS12},
		{"TLS 1.3", tls.VersionTLS13},
	} {
		t.Run(tt.name, func(t *testing.T) {
			server := newRecorder()
			server.onData = func(b []byte) { server.transport().Write(b) }
			server.onEOF = func() bool {
				server.transport().Write([]byte("late")) // sent before the server's close_notify
				return false
			}
			srv := startServeTLS(t, serverCfg, only(server))
			client := newRecorder()
			tr := connectTLS(t, srv, tweak(clientCfg, func(c *tls.Config) { c.MaxVersion = tt.version }), client)
			tr.Write([]byte("hi"))
			waitReceived(t, client, "hi") // echoed: both sides are reading
			tr.Close()
			ctr := client.waitLost(t)
			checkKinds(t, "client (closer)", ctr, cbMade, cbData, cbLost)
			if err := lostErr(ctr); err != nil {
				t.Errorf("closer's ConnectionLost(%v), want nil", err)
			}
			str := server.waitLost(t)
			checkKinds(t, "server", str, cbMade, cbData, cbEOF, cbLost)
			if err := lostErr(str); err != nil {
				t.Errorf("server ConnectionLost(%v), want nil", err)
			}
		})
	}
}

// checkTruncated fails the test unless tr ends with a ConnectionLost
// whose error is ErrTruncated in a *net.OpError "read", with no
// EOFReceived (asyncio R10, uvloop's choice).
func checkTruncated(t *testing.T, tr []entry) {
	t.Helper()
	checkKinds(t, "truncated", tr, cbMade, cbData, cbLost)
	err := lostErr(tr)
	var oe *net.OpError
	if !errors.Is(err, transport.ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) || !errors.As(err, &oe) || oe.Op != "read" {
		t.Errorf("ConnectionLost(%v), want ErrTruncated in a *net.OpError read", err)
	}
}

// TestTL1_R10_BareFINIsTruncated: a peer that ends TCP without a
// close_notify ends the protocol with ConnectionLost(ErrTruncated) and
// no EOFReceived, on a served and on a connected transport.
func TestTL1_R10_BareFINIsTruncated(t *testing.T) {
	serverCfg, clientCfg := tlsConfigs(t)

	t.Run("served", func(t *testing.T) {
		r := newRecorder()
		srv := startServeTLS(t, serverCfg, only(r))
		tc, raw := tlsPeer(t, srv.Addr().String(), clientCfg)
		tc.Write([]byte("partial"))
		waitReceived(t, r, "partial")
		raw.CloseWrite() // FIN, no close_notify
		checkTruncated(t, r.waitLost(t))
	})

	t.Run("connected", func(t *testing.T) {
		ln := rawListener(t)
		peerDone, gone := make(chan error, 1), make(chan struct{})
		go func() {
			defer close(gone)
			c, err := ln.Accept()
			if err != nil {
				peerDone <- err
				return
			}
			defer c.Close()
			tc := tls.Server(c, serverCfg)
			if err = tc.Handshake(); err == nil {
				_, err = tc.Write([]byte("partial"))
			}
			if err == nil {
				err = c.(*net.TCPConn).CloseWrite() // FIN, no close_notify
			}
			peerDone <- err
			io.Copy(io.Discard, c) // until the client has gone
		}()
		r := newRecorder()
		ctx, cancel := context.WithTimeout(context.Background(), failAfter)
		defer cancel()
		tr, _, err := adapters.Connect(ctx, "tcp", ln.Addr().String(), func() *recorder { return r }, transport.WithTLS(clientCfg))
		if err != nil {
			ln.Close()
			<-gone
			t.Fatal(err)
		}
		defer func() { tr.Abort(); waitClosed(t, gone, "the peer to end") }()
		if err := waitErr(t, peerDone, "the peer"); err != nil {
			t.Fatalf("peer: %v", err)
		}
		checkTruncated(t, r.waitLost(t))
	})
}

// TestTL1_T3_CloseInConnectionMadeEndsCleanly: a Protocol that closes
// its TLS transport inside ConnectionMade sends close_notify, reads the
// peer's answer and gets ConnectionLost(nil) (asyncio T3), not the
// shutdown timeout's error: the read goroutine waits for close_notify
// even when the transport is closing before it first reads.
func TestTL1_T3_CloseInConnectionMadeEndsCleanly(t *testing.T) {
	serverCfg, clientCfg := tlsConfigs(t)
	server := newRecorder()
	srv := startServeTLS(t, serverCfg, only(server))
	client := newRecorder()
	client.onMade = func(tr transport.Transport) { tr.Close() }
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	tr, _, err := adapters.Connect(ctx, "tcp", srv.Addr().String(), func() *recorder { return client },
		transport.WithTLS(clientCfg), transport.WithShutdownTimeout(failAfter/2))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Abort()
	checkKinds(t, "server", server.waitLost(t), cbMade, cbEOF, cbLost)
	ctr := client.waitLost(t)
	checkKinds(t, "client", ctr, cbMade, cbLost)
	if err := lostErr(ctr); err != nil {
		t.Errorf("ConnectionLost(%v) after the peer answered close_notify, want nil", err)
	}
}

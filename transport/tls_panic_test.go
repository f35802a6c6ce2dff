package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// tlsPanicKinds are the callbacks TestER2_TL1_Defect7_... makes panic,
// each in a child process ("tlspanic", runTLSPanic): the side that would
// crash is never this test binary.
var tlsPanicKinds = []string{
	// A ListenTLS server's config, for one client (the peer picks it
	// through its SNI, "boom").
	"server/GetCertificate",
	"server/GetConfigForClient",
	"server/VerifyPeerCertificate",
	"server/VerifyConnection",
	// The server's config and then its WithHandshakeFailures hook.
	"server/hook",
	// DialTLS's config.
	"dial/VerifyPeerCertificate",
	"dial/VerifyConnection",
	"dial/GetClientCertificate",
	// After DialTLS's handshake: the server's session ticket, read by the
	// transport's read goroutine.
	"dial/ClientSessionCache",
	// StartTLS, the caller running the handshake (events not claimed).
	"starttls/client/VerifyConnection",
	// StartTLS, the read goroutine running the handshake (events claimed).
	"starttls/server/GetCertificate",
}

// TestER2_TL1_Defect7_HandshakeCallbackPanicContained: a panic in a
// tls.Config callback (or in the handshake-failure hook) fails that one
// handshake with a *transport.PanicError carrying the value and the
// stack; the process survives, a server counts and reports it and keeps
// serving, DialTLS and StartTLS return it. The crashing side runs in a
// child process, which checks all that and prints "ok".
func TestER2_TL1_Defect7_HandshakeCallbackPanicContained(t *testing.T) {
	for _, kind := range tlsPanicKinds {
		t.Run(kind, func(t *testing.T) {
			cmd := childCmd(t, "tlspanic", kind)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || stdout.String() != "ok\n" {
				t.Fatalf("child %q: %v\nstdout:\n%s\nstderr:\n%s", kind, err, stdout.String(), stderr.String())
			}
		})
	}
}

// runTLSPanic is the child of TestER2_TL1_Defect7_...: it runs kind and
// prints "ok", or the failure on stderr.
func runTLSPanic(kind string) int {
	var err error
	switch side, cb, _ := strings.Cut(kind, "/"); side {
	case "server":
		err = tlsPanicServer(cb)
	case "dial":
		err = tlsPanicDial(cb)
	case "starttls":
		err = tlsPanicStartTLS(cb)
	default:
		err = fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ok")
	return 0
}

// tlsPanicValue is what the callbacks of kind panic with.
func tlsPanicValue(kind string) string { return "boom in " + kind }

// tlsCheckPanic checks that err holds the *PanicError of kind's callback.
func tlsCheckPanic(kind string, err error) error {
	var pe *transport.PanicError
	switch {
	case !errors.As(err, &pe):
		return fmt.Errorf("error %v (%T), want a *transport.PanicError", err, err)
	case pe.Value != tlsPanicValue(kind):
		return fmt.Errorf("PanicError.Value = %#v, want %q", pe.Value, tlsPanicValue(kind))
	case !bytes.Contains(pe.Stack, []byte("panic")):
		return fmt.Errorf("PanicError.Stack does not show the panic:\n%s", pe.Stack)
	}
	return nil
}

// tlsPanicCerts makes a server config and a client config trusting it.
func tlsPanicCerts() (server, client *tls.Config, err error) {
	ca, err := certs.NewCA()
	if err != nil {
		return nil, nil, err
	}
	return ca.Localhost()
}

// tlsPanicServer runs a ListenTLS server whose config's callback cb
// panics for the client naming "boom"; that client must be counted and
// reported, and a good client served afterwards.
func tlsPanicServer(cb string) error {
	server, client, err := tlsPanicCerts()
	if err != nil {
		return err
	}
	value := tlsPanicValue("server/" + cb)
	boom := func(name string) {
		if name == "boom" {
			panic(value)
		}
	}
	cert := server.Certificates[0]
	switch cb {
	case "GetCertificate", "hook":
		server.Certificates = nil
		server.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			boom(h.ServerName)
			return &cert, nil
		}
	case "GetConfigForClient":
		server.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			boom(h.ServerName)
			return nil, nil
		}
	case "VerifyPeerCertificate":
		server.ClientAuth = tls.RequestClientCert
		first := true // the bad client comes first
		server.VerifyPeerCertificate = func([][]byte, [][]*x509.Certificate) error {
			if first {
				first = false
				boom("boom")
			}
			return nil
		}
	case "VerifyConnection":
		server.VerifyConnection = func(cs tls.ConnectionState) error {
			boom(cs.ServerName)
			return nil
		}
	default:
		return fmt.Errorf("unknown server callback %q", cb)
	}
	failures := make(chan error, 4)
	hook := transport.WithHandshakeFailures(func(_ net.Addr, err error) {
		failures <- err
		if cb == "hook" {
			panic("boom in the hook")
		}
	})
	srv, err := transport.ListenTLS(context.Background(), "tcp", "127.0.0.1:0", server, hook)
	if err != nil {
		return err
	}
	defer srv.Close()
	bad := client.Clone()
	bad.ServerName, bad.InsecureSkipVerify = "boom", true // reach the server's callbacks
	if c, err := tlsPanicPeer(srv.Addr().String(), bad); err == nil {
		io.Copy(io.Discard, c) // a server-side check after the client's Finished
		c.Close()
	}
	select {
	case err := <-failures:
		if err := tlsCheckPanic("server/"+cb, err); err != nil {
			return fmt.Errorf("the hook got: %w", err)
		}
	case <-time.After(waitTimeout):
		return errors.New("no handshake failure reported")
	}
	if n := srv.Stats().HandshakeFailures; n != 1 {
		return fmt.Errorf("HandshakeFailures = %d, want 1", n)
	}
	good := client.Clone()
	good.ServerName = "localhost"
	return tlsPanicServesGood(srv, good)
}

// tlsPanicPeer runs a crypto/tls client handshake with addr.
func tlsPanicPeer(addr string, config *tls.Config) (*tls.Conn, error) {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	raw.SetDeadline(time.Now().Add(waitTimeout))
	c := tls.Client(raw, config)
	if err := c.Handshake(); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}

// tlsPanicServesGood checks that srv hands out a working transport to a
// good client.
func tlsPanicServesGood(srv *transport.Server, good *tls.Config) error {
	c, err := tlsPanicPeer(srv.Addr().String(), good)
	if err != nil {
		return fmt.Errorf("a good client after the panic: %w", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := srv.Accept(ctx)
	if err != nil {
		return fmt.Errorf("Accept after the panic: %w", err)
	}
	defer tr.Abort()
	return tlsPanicEcho(tr, c)
}

// tlsPanicEcho has peer send "ping" and tr echo it back.
func tlsPanicEcho(tr transport.Transport, peer net.Conn) error {
	ch := tr.Events()
	if e := <-ch; e.Kind != stream.Made {
		return fmt.Errorf("first event %v, want Made", e)
	}
	if _, err := peer.Write([]byte("ping")); err != nil {
		return err
	}
	var got []byte
	for len(got) < 4 {
		select {
		case e := <-ch:
			if e.Kind != stream.Data {
				return fmt.Errorf("got %v, want Data", e)
			}
			got = append(got, e.Data...)
		case <-time.After(waitTimeout):
			return errors.New("no data from the good client")
		}
	}
	if _, err := tr.Write(got); err != nil {
		return err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != "ping" {
		return fmt.Errorf("the good client read %q, %v; want ping", buf, err)
	}
	return nil
}

// tlsPanicCache is a ClientSessionCache whose Put panics: the client
// calls it with the server's session ticket, after the handshake.
type tlsPanicCache struct{ value string }

func (tlsPanicCache) Get(string) (*tls.ClientSessionState, bool) { return nil, false }
func (c tlsPanicCache) Put(string, *tls.ClientSessionState)      { panic(c.value) }

// tlsPanicDial runs DialTLS with a config whose callback cb panics: the
// handshake's callbacks make DialTLS return the panic; the session
// cache's, called after it, ends the transport with it. Then a good
// DialTLS still works.
func tlsPanicDial(cb string) error {
	server, client, err := tlsPanicCerts()
	if err != nil {
		return err
	}
	kind := "dial/" + cb
	value := tlsPanicValue(kind)
	cfg := client.Clone()
	switch cb {
	case "VerifyPeerCertificate":
		cfg.VerifyPeerCertificate = func([][]byte, [][]*x509.Certificate) error { panic(value) }
	case "VerifyConnection":
		cfg.VerifyConnection = func(tls.ConnectionState) error { panic(value) }
	case "GetClientCertificate":
		server.ClientAuth = tls.RequestClientCert
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { panic(value) }
	case "ClientSessionCache":
		cfg.ClientSessionCache = tlsPanicCache{value}
	default:
		return fmt.Errorf("unknown client callback %q", cb)
	}
	srv, err := transport.ListenTLS(context.Background(), "tcp", "127.0.0.1:0", server)
	if err != nil {
		return err
	}
	defer srv.Close()
	addr := srv.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := transport.DialTLS(ctx, "tcp", addr, cfg)
	if cb == "ClientSessionCache" {
		if err != nil {
			return fmt.Errorf("DialTLS: %w", err)
		}
		defer tr.Abort()
		if err := tlsPanicLost(kind, tr.Events()); err != nil {
			return err
		}
	} else if err := tlsCheckPanic(kind, err); err != nil || tr != nil {
		return fmt.Errorf("DialTLS returned %v and %v", tr, err)
	}
	tr, err = transport.DialTLS(ctx, "tcp", addr, client)
	if err != nil {
		return fmt.Errorf("a good DialTLS after the panic: %w", err)
	}
	tr.Abort()
	return nil
}

// tlsPanicLost reads ch until Lost, which must carry kind's panic.
func tlsPanicLost(kind string, ch <-chan stream.Event) error {
	for {
		select {
		case e := <-ch:
			if e.Kind == stream.Lost {
				if err := tlsCheckPanic(kind, e.Err); err != nil {
					return fmt.Errorf("Lost: %w", err)
				}
				return nil
			}
		case <-time.After(waitTimeout):
			return errors.New("no Lost")
		}
	}
}

// tlsPanicStartTLS upgrades with StartTLS, the client side with a
// panicking VerifyConnection (the caller runs the handshake: the events
// are not claimed), the server side with a panicking GetCertificate (the
// read goroutine runs it). StartTLS returns the panic, the transport is
// lost with it, and a good upgrade works afterwards.
func tlsPanicStartTLS(cb string) error {
	server, client, err := tlsPanicCerts()
	if err != nil {
		return err
	}
	kind := "starttls/" + cb
	value := tlsPanicValue(kind)
	client.ServerName = "localhost"
	switch cb {
	case "client/VerifyConnection":
		bad := client.Clone()
		bad.VerifyConnection = func(tls.ConnectionState) error { panic(value) }
		addr, err := tlsPanicPlainServer(server)
		if err != nil {
			return err
		}
		if err := tlsPanicUpgradeClient(addr, bad, kind); err != nil {
			return err
		}
		return tlsPanicUpgradeClient(addr, client, "")
	case "server/GetCertificate":
		cert := server.Certificates[0]
		server.Certificates = nil
		server.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if h.ServerName == "boom" {
				panic(value)
			}
			return &cert, nil
		}
		srv, err := transport.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer srv.Close()
		bad := client.Clone()
		bad.ServerName, bad.InsecureSkipVerify = "boom", true
		if err := tlsPanicUpgradeServer(srv, server, bad, kind); err != nil {
			return err
		}
		return tlsPanicUpgradeServer(srv, server, client, "")
	}
	return fmt.Errorf("unknown StartTLS callback %q", cb)
}

// tlsPanicPlainServer accepts plain connections on 127.0.0.1 and runs a
// crypto/tls server handshake on each, then echoes; it runs until the
// process ends.
func tlsPanicPlainServer(config *tls.Config) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, config)
				if tc.Handshake() == nil {
					io.Copy(tc, tc)
				}
			}()
		}
	}()
	return ln.Addr().String(), nil
}

// tlsPanicUpgradeClient dials addr and upgrades with StartTLS and config
// before claiming the events: it must fail with kind's panic, or
// succeed and echo when kind is "".
func tlsPanicUpgradeClient(addr string, config *tls.Config, kind string) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := transport.Dial(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer tr.Abort()
	err = transport.StartTLS(ctx, tr, config)
	if kind == "" {
		if err != nil {
			return fmt.Errorf("a good StartTLS after the panic: %w", err)
		}
		return nil
	}
	if err := tlsCheckPanic(kind, err); err != nil {
		return fmt.Errorf("StartTLS: %w", err)
	}
	return tlsPanicLost(kind, tr.Events())
}

// tlsPanicUpgradeServer accepts a plain transport from a client that
// then runs a crypto/tls handshake with peer, claims its events and
// upgrades it with StartTLS as the server with config: it must fail with
// kind's panic, or succeed and echo when kind is "".
func tlsPanicUpgradeServer(srv *transport.Server, config, peer *tls.Config, kind string) error {
	raw, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(waitTimeout))
	tc := tls.Client(raw, peer)
	hs := make(chan error, 1)
	go func() { hs <- tc.Handshake() }()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := srv.Accept(ctx)
	if err != nil {
		return err
	}
	defer tr.Abort()
	ch := tr.Events()
	if e := <-ch; e.Kind != stream.Made {
		return fmt.Errorf("first event %v, want Made", e)
	}
	err = transport.StartTLS(ctx, tr, config, transport.WithServerSide())
	if kind != "" {
		if err := tlsCheckPanic(kind, err); err != nil {
			return fmt.Errorf("StartTLS: %w", err)
		}
		return tlsPanicLost(kind, ch)
	}
	if err != nil {
		return fmt.Errorf("a good StartTLS after the panic: %w", err)
	}
	if err := <-hs; err != nil {
		return fmt.Errorf("the good client's handshake: %w", err)
	}
	go func() {
		for e := range ch {
			if e.Kind == stream.Data {
				tr.Write(e.Data)
			}
		}
	}()
	if _, err := tc.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(tc, buf); err != nil || string(buf) != "ping" {
		return fmt.Errorf("the good client read %q, %v; want ping", buf, err)
	}
	return nil
}

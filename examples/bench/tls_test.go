package main

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// withTLS makes a certificate as a -tls run does, loads it as the server
// child does, and returns the setup; the test's end undoes both.
func withTLS(t *testing.T) *tlsSetup {
	t.Helper()
	s, err := newTLSSetup()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	if err := loadServerTLS(s.certFile, s.keyFile); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serverTLS = nil })
	return s
}

func TestTLSServersEcho(t *testing.T) {
	setup := withTLS(t)
	for _, mode := range tlsModes {
		t.Run(mode, func(t *testing.T) {
			addr := startTLSServer(t, mode)
			conns, err := setup.dial(addr.String(), 2)
			if err != nil {
				t.Fatal(err)
			}
			defer closeAll(conns)
			if !strings.HasPrefix(setup.negotiated, "TLS 1.3, ") {
				t.Errorf("negotiated %q, want TLS 1.3", setup.negotiated)
			}
			for _, size := range []int{1, 64, 1024, 16384, 100000} {
				msg, buf := echoMessage(size), make([]byte, size)
				for i, c := range conns {
					if err := echoOnce(c, msg, buf); err != nil {
						t.Fatalf("%d bytes, connection %d: %v", size, i, err)
					}
				}
			}
		})
	}
}

func TestTLSLoad(t *testing.T) {
	setup := withTLS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := serveTLSProtocol(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns, err := setup.dial(addr.String(), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(conns)
	res, err := runLoad(conns, echoMessage(1024), 10*time.Millisecond, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Measured == 0 || res.Total < res.Measured {
		t.Fatalf("load result %+v", res)
	}
}

func TestTLSServerNeedsCertificate(t *testing.T) {
	for _, mode := range tlsModes {
		if _, err := tlsServers[mode](context.Background(), "127.0.0.1:0"); err == nil {
			t.Errorf("%s started without a certificate", mode)
		}
	}
}

func TestTLSClientsVerifyTheServer(t *testing.T) {
	setup := withTLS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A server whose certificate the clients' CA did not sign.
	other, err := newTLSSetup()
	if err != nil {
		t.Fatal(err)
	}
	defer other.close()
	cert, err := tls.LoadX509KeyPair(other.certFile, other.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := serveEachNetConn(ctx, "127.0.0.1:0", func(c net.Conn) {
		echoNetConn(tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}}))
	})
	if err != nil {
		t.Fatal(err)
	}
	if conns, err := setup.dial(addr.String(), 1); err == nil {
		closeAll(conns)
		t.Fatal("dialled a server the CA did not sign")
	}
}

func TestCheckTLS(t *testing.T) {
	for _, tc := range []struct {
		cfg config
		err string // "" for none
	}{
		{config{tls: true, modes: tlsModes, sizes: []int{1, 64, 16384, 1 << 20}}, ""},
		{config{modes: allModes, sizes: []int{1024}}, ""},
		{config{modes: []string{"tls-protocol"}, sizes: []int{1024}}, "add -tls"},
		{config{tls: true, modes: []string{"tls-netconn", "protocol"}, sizes: []int{1024}}, "not a TLS echo mode"},
		{config{tls: true, udp: true, modes: tlsModes, sizes: []int{1024}}, "separate matrices"},
		{config{tls: true, lines: true, modes: tlsModes, sizes: []int{1024}}, "separate matrices"},
	} {
		err := checkTLS(&tc.cfg)
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("checkTLS(%+v) = %v, want %q", tc.cfg, err, tc.err)
		}
	}
}

func TestTLSIdleConnections(t *testing.T) {
	setup := withTLS(t)
	for _, mode := range tlsModes {
		t.Run(mode, func(t *testing.T) {
			addr := startTLSServer(t, mode)
			conns, err := openIdle(setup.dialFrom, addr.String(), nil, 20, 4, 1024)
			if err != nil {
				t.Fatal(err)
			}
			defer closeAll(conns)
			for i, c := range conns {
				if _, ok := c.(*tls.Conn); !ok {
					t.Fatalf("connection %d is a %T, not a TLS client", i, c)
				}
			}
			// A plain client gets no echo from a TLS server.
			if _, err := openIdle(dialTCP, addr.String(), nil, 1, 1, 1024); err == nil {
				t.Error("a plain connection was echoed by a TLS server")
			}
		})
	}
}

func TestReportTLSIdle(t *testing.T) {
	res := &results{TLS: "TLS 1.3, TLS_AES_128_GCM_SHA256"}
	res.Config.TLS, res.Config.IdleSize = true, 1024
	const conns = 1000
	idle := func(mode string, before, after, rss int64) idleResult {
		return idleResult{Mode: mode, Conns: conns, Before: before, After: after,
			PerConn: float64(after-before) / conns, Stats: serverStats{Goroutines: conns, RSS: rss}}
	}
	res.Idle = []idleResult{
		idle("tls-netconn", 8<<20, 8<<20+conns*40<<10, 8<<20+conns*30<<10),
		idle("tls-protocol", 8<<20, 8<<20+conns*20<<10, 0),
	}
	var out strings.Builder
	reportTLS(&out, res)
	for _, want := range []string{
		"| mode | server RSS before MiB | with the connections MiB | KiB/conn | x tls-netconn | after GC KiB/conn | goroutines/conn |",
		"| tls-netconn | 8.0 | 47.1 | 40.00 | 1.00 | 30.00 | 1.000 |",
		"| tls-protocol | 8.0 | 27.5 | 20.00 | 0.50 | - | 1.000 |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// startTLSServer starts the server of mode on a free local port until
// the test ends, and returns its address.
func startTLSServer(t *testing.T, mode string) net.Addr {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr, err := tlsServers[mode](ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// BenchmarkTLSEcho measures one TLS connection's echo round trip over
// loopback TCP: a crypto/tls client writes size bytes and reads them
// back, against two servers in the same process:
//
//   - rxnet: transport.ListenTLS, one goroutine ranging over the
//     transport's events and writing each Data back (the events path);
//   - crypto-tls: tls.Server over each accepted net.Conn, one goroutine
//     looping Read and Write over a 64 KiB buffer (the baseline).
//
// Client and server share the process, so ns/op and allocs/op are the
// round trip's, both sides included. TLS 1.3, crypto/tls's default suite.
// examples/bench -tls runs the same comparison in separate processes,
// with the Protocol path and many connections (docs/benchmarks.md).
func BenchmarkTLSEcho(b *testing.B) {
	ca, err := certs.NewCA()
	if err != nil {
		b.Fatal(err)
	}
	server, client, err := ca.Localhost()
	if err != nil {
		b.Fatal(err)
	}
	servers := []struct {
		name  string
		start func(b *testing.B, config *tls.Config) (addr string, stop func())
	}{
		{"rxnet", benchTLSServeRxnet},
		{"crypto-tls", benchTLSServeCrypto},
	}
	for _, size := range []int{64, 1024, 16384} {
		for _, s := range servers {
			b.Run(fmt.Sprintf("size=%d/%s", size, s.name), func(b *testing.B) {
				addr, stop := s.start(b, server)
				defer stop()
				benchTLSEchoLoop(b, addr, client, size)
			})
		}
	}
}

// benchTLSEchoLoop dials addr and echoes size bytes b.N times, checking
// the last echo.
func benchTLSEchoLoop(b *testing.B, addr string, config *tls.Config, size int) {
	c, err := tls.Dial("tcp", addr, config)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}
	msg := bytes.Repeat([]byte("rxnet-tls-b\n"), size/12+1)[:size]
	buf := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
	if !bytes.Equal(buf, msg) {
		b.Fatal("the echo differs from what was sent")
	}
}

// benchTLSServeRxnet starts an rxnet TLS echo server; stop closes it and
// waits for its goroutines.
func benchTLSServeRxnet(b *testing.B, config *tls.Config) (string, func()) {
	srv, err := transport.ListenTLS(context.Background(), "tcp", "127.0.0.1:0", config)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			t, err := srv.Accept(context.Background())
			if err != nil {
				return
			}
			wg.Go(func() {
				for ev := range t.Events() {
					if ev.Kind == stream.Data {
						_, _ = t.Write(ev.Data)
					}
				}
			})
		}
	})
	return srv.Addr().String(), func() {
		srv.Close()
		wg.Wait()
	}
}

// benchTLSServeCrypto starts a crypto/tls echo server; stop closes it and
// waits for its goroutines.
func benchTLSServeCrypto(b *testing.B, config *tls.Config) (string, func()) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", config)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String(), func() {
		ln.Close()
		wg.Wait()
	}
}

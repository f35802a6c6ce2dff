package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/exampletest"
	"github.com/rxnet/rxnet/transport"
)

// heldBackBound is the most an echo server that honours flow control
// holds in a connection's write buffer: the high-water mark, one read (or
// one line) over it, and TLS's framing of that read.
const heldBackBound = 64<<10 + 64<<10 + 1<<10

// TestDefect9_BenchEchoHonoursPauseWriting: against a client that sends
// without ever reading, every echo server that writes through rxnet's
// write buffer stops reading once its writes are paused (heldBack), its
// write buffer at the high-water mark plus one read. (rw and rw-pooled
// wait in adapters.Writer, which is that rule already; the net.Conn
// baselines block in Write.)
func TestDefect9_BenchEchoHonoursPauseWriting(t *testing.T) {
	setup := withTLS(t)
	line := append(bytes.Repeat([]byte{'l'}, 1023), '\n')
	for _, tc := range []struct {
		mode  string
		serve serveFunc
		chunk []byte
	}{
		{"protocol", serveProtocol, nil},
		{"events", serveEvents, nil},
		{"rx", serveRx, nil},
		{"events-pooled", serveEventsPooled, nil},
		{"rx-pooled", serveRxPooled, nil},
		{"buffered", serveBuffered, nil},
		{"lines-rx", serveLinesRx, line},
		{"lines-chan", serveLinesChan, line},
		{"lines-pooled", serveLinesPooled, line},
		{"tls-protocol", serveTLSProtocol, nil},
		{"tls-events", serveTLSEvents, nil},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			held := make(chan transport.Transport, 1)
			hook := func(tr transport.Transport) {
				select {
				case held <- tr:
				default:
				}
			}
			heldBackHook.Store(&hook)
			defer heldBackHook.Store(nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			addr, err := tc.serve(ctx, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			c, err := exampletest.SmallReceiveBuffer().Dial("tcp", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			if tlsServers[tc.mode] != nil {
				config := setup.client.Clone()
				config.ServerName = "127.0.0.1"
				tc := tls.Client(c, config)
				if err := tc.Handshake(); err != nil {
					t.Fatal(err)
				}
				c = tc
			}
			chunk := tc.chunk
			if chunk == nil {
				chunk = echoMessage(64 << 10)
			}
			flooded := exampletest.Flood(t, c, bytes.Repeat(chunk, 4))
			srv := addr.(*rxServer).srv
			wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			select {
			case <-held:
			case err := <-flooded:
				if err == nil {
					t.Fatalf("the server read all %d MiB while the client read nothing; peak write buffer %d bytes",
						exampletest.FloodBytes>>20, srv.Stats().Transports.PeakWriteBuffer)
				}
				t.Fatalf("flood: %v", err)
			case <-wait.Done():
				t.Fatal("the server neither paused nor read everything within 10 s")
			}
			// The flow rule bounds the peak at every moment: check it now.
			if peak := srv.Stats().Transports.PeakWriteBuffer; peak > heldBackBound {
				t.Errorf("the server's write buffer grew to %d bytes, over %d", peak, heldBackBound)
			}
		})
	}
}

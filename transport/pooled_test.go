package transport_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/bufpool"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// Tests of WithPooledData (DESIGN RD5; "Pooled data").

// pooledPattern is n bytes that tell their offsets apart.
func pooledPattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

// collectPooled receives events until want bytes of data kind came, each
// of them pooled (or not, as pooled says), checks that a copy's Release
// and a second Release are harmless, and returns the bytes.
func collectPooled(t *testing.T, events <-chan stream.Event, kind stream.Kind, want int, pooled bool) []byte {
	t.Helper()
	var got []byte
	timeout := time.After(waitTimeout)
	for len(got) < want {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("events ended after %d bytes of %d", len(got), want)
			}
			if e.Kind != kind {
				continue
			}
			if e.Pooled() != pooled {
				t.Fatalf("%v: Pooled() = %v, want %v", e, e.Pooled(), pooled)
			}
			got = append(got, e.Data...)
			c := e
			c.Release()
			e.Release() // a second Release, of the original: nothing
			c.Release()
		case <-timeout:
			t.Fatalf("got %d bytes of %d", len(got), want)
		}
	}
	return got
}

// TestRD5_PooledStreamData: over TCP and a Unix socket, on both engines,
// every Data is pooled, small reads and bulk ones (handed over with no
// copy), and with poison mode on, so that rxnet releasing a buffer the
// consumer still holds would show as poison in what it got.
func TestRD5_PooledStreamData(t *testing.T) {
	defer bufpool.SetPoison(bufpool.SetPoison(true))
	for _, engine := range []string{"poll", "goroutine"} {
		for _, network := range []string{"tcp", "unix"} {
			t.Run(network+"/"+engine, func(t *testing.T) {
				t.Setenv("RXNET_ENGINE", engine)
				data := pooledPattern(300 << 10)
				tr, peer := pooledPair(t, network)
				go func(rest []byte) {
					for _, size := range []int{100, 1000, 20 << 10} { // small reads, then bulk
						peer.Write(rest[:size])
						rest = rest[size:]
					}
					peer.Write(rest)
				}(data)
				got := collectPooled(t, tr.Events(), stream.Data, len(data), true)
				if !bytes.Equal(got, data) {
					t.Fatal("the bytes received differ from those sent")
				}
				tr.Abort()
				waitDone(t, tr)
			})
		}
	}
}

// pooledPair returns a transport made with WithPooledData, dialed to a
// plain listener of network, and the accepted peer.
func pooledPair(t *testing.T, network string) (transport.Transport, net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = t.TempDir() + "/s"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tr, err := transport.Dial(context.Background(), network, ln.Addr().String(), transport.WithPooledData())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		tr.Abort()
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	return tr, peer
}

// TestRD5_PooledDatagramsPipesAndChildren: Datagram, a read pipe's Data
// and a child's PipeData are pooled too; without the option, nothing is,
// and Release does nothing.
func TestRD5_PooledDatagramsPipesAndChildren(t *testing.T) {
	t.Run("udp", func(t *testing.T) {
		tr, err := transport.ListenPacket(context.Background(), "udp", "127.0.0.1:0", transport.WithPooledData())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { tr.Abort(); waitDone(t, tr) }()
		peer, err := net.Dial("udp", tr.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		events := tr.Events()
		for _, size := range []int{1, 600, 5000} {
			if _, err := peer.Write(pooledPattern(size)); err != nil {
				t.Fatal(err)
			}
			if got := collectPooled(t, events, stream.Datagram, size, true); !bytes.Equal(got, pooledPattern(size)) {
				t.Fatalf("datagram of %d bytes differs", size)
			}
		}
	})
	t.Run("pipe", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		tr, err := transport.ReadPipe(r, transport.WithPooledData())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { tr.Abort(); waitDone(t, tr) }()
		go w.Write(pooledPattern(40 << 10))
		if got := collectPooled(t, tr.Events(), stream.Data, 40<<10, true); !bytes.Equal(got, pooledPattern(40<<10)) {
			t.Fatal("pipe bytes differ")
		}
	})
	t.Run("child", func(t *testing.T) {
		tr, err := transport.Exec(context.Background(), exec.Command("sh", "-c", "printf hello"), transport.WithPooledData())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { tr.Abort(); waitDone(t, tr) }()
		events := tr.Events()
		if got := collectPooled(t, events, stream.PipeData, 5, true); string(got) != "hello" {
			t.Fatalf("child wrote %q", got)
		}
		for range events { // to Lost: the child's end
		}
	})
	t.Run("not pooled", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		tr, err := transport.Dial(context.Background(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer func() { tr.Abort(); waitDone(t, tr) }()
		peer, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		go peer.Write([]byte("plain"))
		if got := collectPooled(t, tr.Events(), stream.Data, 5, false); string(got) != "plain" {
			t.Fatalf("got %q", got)
		}
	})
}

package poll

import (
	"io"
	"net"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkPingPong sends 64 bytes over a socket pair and waits for them
// to come back, the server side served by a loop ("loop") or by a
// goroutine blocked in a net.Conn Read ("goroutine"). The client is a
// net.Conn in both.
func BenchmarkPingPong(b *testing.B) {
	b.Run("loop", func(b *testing.B) {
		withLoops(b, 1)
		a, peer := socketpair(b)
		c := register(b, a, &handler{readable: func(buf []byte) bool {
			n, err := unix.Read(a, buf)
			if n <= 0 || err != nil {
				return false
			}
			unix.Write(a, buf[:n]) // 64 bytes always fit
			return n == len(buf)
		}})
		c.SetReading(true)
		pingPong(b, fileConn(b, peer))
	})
	b.Run("goroutine", func(b *testing.B) {
		a, peer := socketpair(b)
		server := fileConn(b, a)
		var wg sync.WaitGroup
		wg.Go(func() {
			buf := make([]byte, BufSize)
			for {
				n, err := server.Read(buf)
				if err != nil {
					return
				}
				if _, err := server.Write(buf[:n]); err != nil {
					return
				}
			}
		})
		pingPong(b, fileConn(b, peer))
		server.Close() // ends the server's Read
		wg.Wait()
	})
}

func pingPong(b *testing.B, conn net.Conn) {
	msg := make([]byte, 64)
	got := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(conn, got); err != nil {
			b.Fatal(err)
		}
	}
}

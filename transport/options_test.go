//go:build unix

package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

const def = transport.DefaultLimit

// TCP_KEEPIDLE and TCP_KEEPINTVL on Linux (syscall names them only there).
const (
	linuxTCPKeepIdle  = 4
	linuxTCPKeepIntvl = 5
)

// target is a plain listener to dial; it closes what it accepts when the
// test ends.
func target(t *testing.T, network string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, listenAddr(t, network))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln
}

// dialOpts dials the target with opts.
func dialOpts(t *testing.T, ln net.Listener, opts ...transport.Option) (transport.Transport, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := transport.Dial(ctx, ln.Addr().Network(), ln.Addr().String(), opts...)
	if err == nil {
		t.Cleanup(tr.Abort)
	}
	return tr, err
}

func TestER1_OptionsRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  transport.Option
	}{
		{name: "LowOverHigh", opt: transport.WithWriteBufferLimits(10, 20)},
		{name: "NegativeHigh", opt: transport.WithWriteBufferLimits(-1, def)},
		{name: "NegativeLow", opt: transport.WithWriteBufferLimits(def, -1)},
		{name: "NegativeBoth", opt: transport.WithWriteBufferLimits(-1, -1)},
		{name: "NegativeLowWithHigh", opt: transport.WithWriteBufferLimits(10, -1)},
		{name: "NegativeReadLimit", opt: transport.WithReadLimit(-1)},
		{name: "NegativeEventBuffer", opt: transport.WithEventBuffer(-1)},
		{name: "NilOption", opt: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			networks(t, func(t *testing.T, network string) {
				ln := target(t, network)
				if _, err := dialOpts(t, ln, tc.opt); err == nil {
					t.Errorf("Dial with %s succeeded, want an error", tc.name)
				}
				if srv, err := transport.Listen(context.Background(), network, listenAddr(t, network), tc.opt); err == nil {
					srv.Close()
					t.Errorf("Listen with %s succeeded, want an error", tc.name)
				}
			})
		})
	}
}

func TestER1_DialUnknownNetwork(t *testing.T) {
	for _, network := range []string{"udp", "ip", "unixgram", "unixpacket", "bogus", ""} {
		t.Run(fmt.Sprintf("%q", network), func(t *testing.T) {
			tr, err := transport.Dial(context.Background(), network, "127.0.0.1:1")
			if !errors.Is(err, transport.ErrUnknownNetwork) {
				if tr != nil {
					tr.Abort()
				}
				t.Fatalf("Dial(%q) = %v, want ErrUnknownNetwork", network, err)
			}
		})
	}
}

func TestDialErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	ln := target(t, "tcp")
	if _, err := transport.Dial(cancelled, "tcp", ln.Addr().String()); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a cancelled ctx = %v, want context.Canceled", err)
	}
	if _, err := transport.Dial(context.Background(), "unix", "/no/such/directory/s"); err == nil {
		t.Errorf("Dial to a missing socket succeeded")
	}
}

func TestWriteBufferLimitsOption(t *testing.T) {
	for _, tc := range []struct {
		high, low         int
		wantHigh, wantLow int
	}{
		{high: def, low: def, wantHigh: 65536, wantLow: 16384},
		{high: 1000, low: def, wantHigh: 1000, wantLow: 250},
		{high: def, low: 1000, wantHigh: 4000, wantLow: 1000},
		{high: 3, low: def, wantHigh: 3, wantLow: 0},
		{high: 0, low: def, wantHigh: 0, wantLow: 0},
		{high: 100, low: 100, wantHigh: 100, wantLow: 100},
	} {
		t.Run(fmt.Sprintf("%d,%d", tc.high, tc.low), func(t *testing.T) {
			networks(t, func(t *testing.T, network string) {
				ln := target(t, network)
				tr, err := dialOpts(t, ln, transport.WithWriteBufferLimits(tc.high, tc.low))
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				if high, low := tr.WriteBufferLimits(); high != tc.wantHigh || low != tc.wantLow {
					t.Errorf("dialed: limits %d, %d; want %d, %d", high, low, tc.wantHigh, tc.wantLow)
				}
				srv := listen(t, network, transport.WithWriteBufferLimits(tc.high, tc.low))
				dial(t, srv)
				acc := accept(t, srv)
				if high, low := acc.WriteBufferLimits(); high != tc.wantHigh || low != tc.wantLow {
					t.Errorf("accepted: limits %d, %d; want %d, %d", high, low, tc.wantHigh, tc.wantLow)
				}
			})
		})
	}
}

// TestRD2_EventBufferSplitsReads: the channel holds one event whatever
// WithEventBuffer says; n splits the read limit into reads of at most
// limit/n bytes (at least 2 of them).
func TestRD2_EventBufferSplitsReads(t *testing.T) {
	for _, tc := range []struct{ n, wantMax int }{
		{n: 0, wantMax: 1024 / transport.DefaultEventBuffer},
		{n: 1, wantMax: 512}, // at least 2
		{n: 16, wantMax: 64},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			tr, err := transport.Dial(context.Background(), "tcp", ln.Addr().String(),
				transport.WithReadLimit(1024), transport.WithEventBuffer(tc.n))
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer tr.Abort()
			peer, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			ch := tr.Events()
			if got := cap(ch); got != 1 {
				t.Fatalf("channel capacity %d, want 1", got)
			}
			if _, err := peer.Write(make([]byte, 4096)); err != nil {
				t.Fatal(err)
			}
			for got := 0; got < 4096; {
				e := <-ch
				if e.Kind != stream.Data {
					continue
				}
				if len(e.Data) > tc.wantMax {
					t.Fatalf("a read of %d bytes, want at most %d", len(e.Data), tc.wantMax)
				}
				got += len(e.Data)
			}
		})
	}
}

// sockopt reads an integer socket option of a transport's socket.
func sockopt(t *testing.T, tr transport.Transport, level, opt int) int {
	t.Helper()
	v, ok := tr.ExtraInfo(transport.InfoSocket)
	if !ok {
		t.Fatalf(`no ExtraInfo("socket")`)
	}
	var got int
	var serr error
	if err := v.(syscall.RawConn).Control(func(fd uintptr) {
		got, serr = syscall.GetsockoptInt(int(fd), level, opt)
	}); err != nil || serr != nil {
		t.Fatalf("getsockopt: %v, %v", err, serr)
	}
	return got
}

// TestSocketOptions reads back WithNoDelay and WithKeepAlive on dialed and
// accepted TCP connections: they work on every platform (through
// net.TCPConn), while WithReusePort stays Linux only.
func TestSocketOptions(t *testing.T) {
	if runtime.GOOS != "linux" {
		if _, err := dialOpts(t, target(t, "tcp"), transport.WithReusePort()); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Dial with WithReusePort on %s = %v, want an error wrapping errors.ErrUnsupported", runtime.GOOS, err)
		}
	}
	// A boolean option reads back as any non-zero value on the BSDs.
	isOn := func(v int) int { return min(v, 1) }
	type check struct {
		name          string
		opt           transport.Option
		level, option int
		want          int
		read          func(int) int
	}
	checks := []check{
		{name: "NoDelayOff", opt: transport.WithNoDelay(false), level: syscall.IPPROTO_TCP, option: syscall.TCP_NODELAY, want: 0, read: isOn},
		{name: "NoDelayOn", opt: transport.WithNoDelay(true), level: syscall.IPPROTO_TCP, option: syscall.TCP_NODELAY, want: 1, read: isOn},
		{name: "KeepAliveOff", opt: transport.WithKeepAlive(-1), level: syscall.SOL_SOCKET, option: syscall.SO_KEEPALIVE, want: 0, read: isOn},
		{name: "KeepAliveOn", opt: transport.WithKeepAlive(42 * time.Second), level: syscall.SOL_SOCKET, option: syscall.SO_KEEPALIVE, want: 1, read: isOn},
	}
	if runtime.GOOS == "linux" {
		same := func(v int) int { return v }
		checks = append(checks,
			check{name: "KeepAliveIdle", opt: transport.WithKeepAlive(42 * time.Second), level: syscall.IPPROTO_TCP, option: linuxTCPKeepIdle, want: 42, read: same},
			check{name: "KeepAliveInterval", opt: transport.WithKeepAlive(42 * time.Second), level: syscall.IPPROTO_TCP, option: linuxTCPKeepIntvl, want: 42, read: same},
		)
	}
	ln := target(t, "tcp")
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := dialOpts(t, ln, tc.opt)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			if got := sockopt(t, tr, tc.level, tc.option); tc.read(got) != tc.want {
				t.Errorf("dialed: socket option %d/%d = %d, want %d", tc.level, tc.option, got, tc.want)
			}
			srv := listen(t, "tcp", tc.opt)
			dial(t, srv)
			if got := sockopt(t, accept(t, srv), tc.level, tc.option); tc.read(got) != tc.want {
				t.Errorf("accepted: socket option %d/%d = %d, want %d", tc.level, tc.option, got, tc.want)
			}
		})
	}
	// Unix sockets ignore the TCP options.
	if _, err := dialOpts(t, target(t, "unix"), transport.WithNoDelay(false), transport.WithKeepAlive(time.Minute)); err != nil {
		t.Fatalf("Dial unix with TCP options: %v", err)
	}
	srv := listen(t, "unix", transport.WithNoDelay(false), transport.WithKeepAlive(-1))
	dial(t, srv)
	accept(t, srv)
}

func TestReusePort(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("WithReusePort is Linux only")
	}
	first := listen(t, "tcp", transport.WithReusePort())
	addr := first.Addr().String()
	second, err := transport.Listen(context.Background(), "tcp", addr, transport.WithReusePort())
	if err != nil {
		t.Fatalf("a second Listen on %s with WithReusePort: %v", addr, err)
	}
	second.Close()
	if third, err := transport.Listen(context.Background(), "tcp", addr); err == nil {
		third.Close()
		t.Fatalf("a Listen on %s without WithReusePort succeeded", addr)
	}
}

func TestDialCtxBoundsConnectOnly(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		ln, err := net.Listen(network, listenAddr(t, network))
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		defer ln.Close()
		ctx, cancel := context.WithCancel(context.Background())
		tr, err := transport.Dial(ctx, network, ln.Addr().String())
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		t.Cleanup(tr.Abort)
		cancel() // once Dial has returned, this changes nothing
		peer, err := ln.Accept()
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		t.Cleanup(func() { peer.Close() })
		ch := tr.Events()
		nextEvent(t, ch)
		roundTrip(t, tr, ch, peer)
		if tr.IsClosing() {
			t.Fatalf("cancelling Dial's ctx closed the transport")
		}
	})
}

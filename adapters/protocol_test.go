package adapters_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// TestTraceChecker makes sure the L16 grammar check rejects what it must,
// so the trace tests below can fail.
func TestTraceChecker(t *testing.T) {
	mk := func(kinds ...string) []entry {
		tr := make([]entry, len(kinds))
		for i, k := range kinds {
			tr[i] = entry{kind: k}
		}
		return tr
	}
	tests := []struct {
		name  string
		trace []entry
		ok    bool
	}{
		{name: "minimal", trace: mk(cbMade, cbLost), ok: true},
		{name: "full", trace: mk(cbMade, cbData, cbPause, cbData, cbResume, cbEOF, cbPause, cbLost), ok: true},
		{name: "marks ignored", trace: mk(cbMark, cbMade, cbMark, cbLost), ok: true},
		{name: "empty", trace: nil},
		{name: "no CM", trace: mk(cbData, cbLost)},
		{name: "no CL", trace: mk(cbMade, cbData)},
		{name: "CM twice", trace: mk(cbMade, cbMade, cbLost)},
		{name: "CL twice", trace: mk(cbMade, cbLost, cbLost)},
		{name: "DR after ER", trace: mk(cbMade, cbEOF, cbData, cbLost)},
		{name: "ER twice", trace: mk(cbMade, cbEOF, cbEOF, cbLost)},
		{name: "RW first", trace: mk(cbMade, cbResume, cbLost)},
		{name: "PW twice", trace: mk(cbMade, cbPause, cbPause, cbLost)},
		{name: "after CL", trace: mk(cbMade, cbLost, cbData)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkTrace(tt.trace); (err == nil) != tt.ok {
				t.Errorf("checkTrace(%v) = %v, want ok=%v", tt.trace, err, tt.ok)
			}
		})
	}
}

// TestRecorderCountsOverlaps makes sure the recorder sees two callbacks
// running at once, so the CC2 tests can fail.
func TestRecorderCountsOverlaps(t *testing.T) {
	r := newRecorder()
	entered, release := make(chan struct{}), make(chan struct{})
	r.onData = func([]byte) {
		entered <- struct{}{}
		<-release
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.DataReceived([]byte("a"))
	}()
	<-entered
	r.PauseWriting() // another goroutine: an overlap
	close(release)
	<-done
	if got := r.overlaps.Load(); got != 1 {
		t.Fatalf("overlaps = %d, want 1", got)
	}
	// Nested on the same goroutine, as a Write inside a callback does, is
	// not an overlap.
	r = newRecorder()
	r.onData = func([]byte) { r.PauseWriting() }
	r.DataReceived([]byte("a"))
	if got := r.overlaps.Load(); got != 0 {
		t.Fatalf("nested PauseWriting counted as %d overlaps", got)
	}
}

// TestLC1_ConnectionMadeFirstExactlyOnce: ConnectionMade is the first
// callback, exactly once, even when the peer sends before the transport
// was even accepted or adapted (asyncio L1, L2).
func TestLC1_ConnectionMadeFirstExactlyOnce(t *testing.T) {
	const msg = "sent before anything was adapted"
	check := func(t *testing.T, r *recorder) {
		tr := r.waitLost(t)
		if err := checkTrace(tr); err != nil {
			t.Fatal(err)
		}
		if got := countKind(tr, cbMade); got != 1 || tr[0].kind != cbMade {
			t.Fatalf("trace %v: want CM first and once", tr)
		}
		if got := string(received(tr)); got != msg {
			t.Fatalf("received %q, want %q", got, msg)
		}
		if err := lostErr(tr); err != nil {
			t.Fatalf("ConnectionLost(%v), want nil after EOF", err)
		}
	}
	t.Run("Serve", func(t *testing.T) {
		r := newRecorder()
		srv, err := transport.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		// The peer writes and shuts down before Serve even runs.
		peer := dialPeer(t, srv.Addr().String(), 0)
		if _, err := peer.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		peer.CloseWrite()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- adapters.Serve(ctx, srv, func() *recorder { return r }) }()
		t.Cleanup(func() { cancel(); <-done })
		check(t, r)
	})
	t.Run("Connect", func(t *testing.T) {
		ln := rawListener(t)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.Write([]byte(msg))
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(failAfter))
			c.Read(make([]byte, 1)) // until the transport closes
		}()
		r := newRecorder()
		ctx, cancel := context.WithTimeout(context.Background(), failAfter)
		defer cancel()
		tr, _, err := adapters.Connect(ctx, "tcp", ln.Addr().String(), func() *recorder { return r })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tr.Abort)
		check(t, r)
	})
}

// TestLC1_ConnectReturnsAfterConnectionMade: Connect returns only once
// ConnectionMade has returned (asyncio L2).
func TestLC1_ConnectReturnsAfterConnectionMade(t *testing.T) {
	ln := rawListener(t)
	var madeDone atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	r := newRecorder()
	r.onMade = func(transport.Transport) {
		close(entered)
		<-release
		madeDone.Store(true)
	}
	type result struct {
		t   transport.Transport
		err error
	}
	res := make(chan result, 1)
	go func() {
		tr, _, err := adapters.Connect(context.Background(), "tcp", ln.Addr().String(), func() *recorder { return r })
		res <- result{tr, err}
	}()
	waitClosed(t, entered, "ConnectionMade")
	select {
	case got := <-res:
		close(release)
		if got.t != nil {
			got.t.Abort()
		}
		t.Fatalf("Connect returned (err %v) while ConnectionMade was still running", got.err)
	default:
	}
	close(release)
	var got result
	select {
	case got = <-res:
	case <-time.After(failAfter):
		t.Fatal("Connect did not return")
	}
	if got.err != nil {
		t.Fatal(got.err)
	}
	t.Cleanup(got.t.Abort)
	if !madeDone.Load() {
		t.Fatal("Connect returned before ConnectionMade returned")
	}
	acceptPeer(t, ln)
}

// TestLC2_ConnectionLostLastExactlyOnce: however the connection ends,
// ConnectionLost is the last callback, exactly once, with nil for a clean
// end and the error otherwise (LC3); calling every method afterwards
// calls no callback and panics nowhere (LC4, asyncio L4, L14).
func TestLC2_ConnectionLostLastExactlyOnce(t *testing.T) {
	tests := []struct {
		name    string
		onData  func(t transport.Transport) // inside DataReceived
		end     func(t *testing.T, srv *transport.Server, tr transport.Transport, peer *net.TCPConn)
		wantErr func(err error) bool
	}{
		{
			name: "peer EOF",
			end: func(_ *testing.T, _ *transport.Server, _ transport.Transport, peer *net.TCPConn) {
				peer.CloseWrite()
			},
		},
		{
			name: "local Close",
			end: func(_ *testing.T, _ *transport.Server, tr transport.Transport, _ *net.TCPConn) {
				tr.Close()
			},
		},
		{
			name: "local Abort",
			end: func(_ *testing.T, _ *transport.Server, tr transport.Transport, _ *net.TCPConn) {
				tr.Abort()
			},
		},
		{
			name:   "Close inside DataReceived",
			onData: func(tr transport.Transport) { tr.Close() },
			end: func(_ *testing.T, _ *transport.Server, _ transport.Transport, peer *net.TCPConn) {
				peer.Write([]byte("bye"))
			},
		},
		{
			name:   "Abort inside DataReceived",
			onData: func(tr transport.Transport) { tr.Abort() },
			end: func(_ *testing.T, _ *transport.Server, _ transport.Transport, peer *net.TCPConn) {
				peer.Write([]byte("bye"))
			},
		},
		{
			name: "server Close",
			end: func(_ *testing.T, srv *transport.Server, _ transport.Transport, _ *net.TCPConn) {
				srv.Close()
			},
		},
		{
			name: "peer reset",
			end: func(t *testing.T, _ *transport.Server, _ transport.Transport, peer *net.TCPConn) {
				resetPeer(t, peer)
			},
			wantErr: func(err error) bool { return errors.Is(err, syscall.ECONNRESET) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder()
			if tt.onData != nil {
				r.onData = func([]byte) { tt.onData(r.transport()) }
			}
			srv, peer := serveOne(t, r)
			tr := r.waitMade(t)
			tt.end(t, srv, tr, peer)
			trace := r.waitLost(t)
			if err := checkTrace(trace); err != nil {
				t.Fatal(err)
			}
			err := lostErr(trace)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("ConnectionLost(%v), want nil", err)
			}
			if tt.wantErr != nil && !tt.wantErr(err) {
				t.Fatalf("ConnectionLost(%v): not the error wanted", err)
			}

			// Every method after Lost: no panic, no callback.
			if _, err := tr.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Write after Lost: %v, want net.ErrClosed", err)
			}
			tr.WriteBuffers([][]byte{[]byte("x")})
			tr.WriteEOF()
			tr.PauseReading()
			tr.ResumeReading()
			tr.SetWriteBufferLimits(0, 0)
			tr.SetWriteBufferLimits(transport.DefaultLimit, transport.DefaultLimit)
			if err := tr.Close(); err != nil {
				t.Errorf("Close after Lost: %v", err)
			}
			tr.Abort()
			if tr.IsReading() || !tr.IsClosing() {
				t.Errorf("after Lost: IsReading %v, IsClosing %v; want false, true", tr.IsReading(), tr.IsClosing())
			}
			if err := tr.Drain(context.Background()); err == nil {
				t.Error("Drain after Lost returned nil")
			}
			if got := r.snapshot(); len(got) != len(trace) {
				t.Fatalf("callbacks after ConnectionLost: %v", got[len(trace):])
			}
			if n := r.overlaps.Load(); n != 0 {
				t.Fatalf("%d callbacks overlapped", n)
			}
		})
	}
}

// TestLC2_EveryTraceMatchesProtocolGrammar is the property check of
// asyncio L16: many connections, each ended and disturbed in a random way
// (peer EOF, close or reset; local close or abort; read pauses; writes
// that pause and resume writing from inside callbacks and from other
// goroutines), and every recorded trace must match CM DR* ER? CL with PW
// and RW alternating, starting with PW, and no two callbacks at once.
func TestLC2_EveryTraceMatchesProtocolGrammar(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	const conns = 40
	made := make(chan *recorder, conns)
	var wg sync.WaitGroup // goroutines the protocols start
	t.Cleanup(wg.Wait)
	var nextSeed atomic.Uint64
	nextSeed.Store(seed)
	factory := func() *recorder {
		rng := rand.New(rand.NewPCG(nextSeed.Add(1), 7))
		r := newRecorder()
		var (
			tr       transport.Transport
			nData    int
			closeAt  = rng.IntN(12)         // close or abort after that many DRs (if < 8)
			abort    = rng.IntN(2) == 0     // abort rather than close
			pauseAt  = rng.IntN(10)         // pause reading from another goroutine then (if < 6)
			echoMul  = rng.IntN(6)          // write back echoMul times the data
			keepOpen = rng.IntN(2) == 0     // EOFReceived's answer
			fromAway = rng.IntN(2) == 0     // echo from another goroutine
			limit    = 512 + rng.IntN(4096) // high-water mark
		)
		r.onMade = func(t transport.Transport) {
			tr = t
			if v, ok := t.ExtraInfo(transport.InfoSocket); ok {
				setSockBuf(v.(syscall.RawConn), syscall.SO_SNDBUF, 4096)
			}
			t.SetWriteBufferLimits(limit, transport.DefaultLimit)
		}
		r.onData = func(data []byte) {
			nData++
			reply := bytes.Repeat(data, echoMul)
			if fromAway {
				wg.Add(1)
				go func() { defer wg.Done(); tr.Write(reply) }()
			} else {
				tr.Write(reply)
			}
			switch {
			case nData == closeAt && abort:
				wg.Add(1)
				go func() { defer wg.Done(); tr.Abort() }()
			case nData == closeAt:
				tr.Close()
			case nData == pauseAt:
				wg.Add(1)
				go func() {
					defer wg.Done()
					tr.PauseReading()
					tr.Write(reply)
					tr.ResumeReading()
				}()
			}
		}
		r.onEOF = func() bool {
			if keepOpen {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tr.Write([]byte("after EOF"))
					tr.Close()
				}()
			}
			return keepOpen
		}
		made <- r
		return r
	}
	srv := startServe(t, factory)

	var peers sync.WaitGroup
	for i := range conns {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		peer := dialPeer(t, srv.Addr().String(), 4096)
		reads := readUntilEnd(peer, 4096, nil)
		peers.Add(1)
		go func() {
			defer peers.Done()
			for range rng.IntN(16) {
				if _, err := peer.Write(bytes.Repeat([]byte{'d'}, 1+rng.IntN(8192))); err != nil {
					break
				}
			}
			switch rng.IntN(3) {
			case 0:
				peer.CloseWrite()
				<-reads
				peer.Close()
			case 1:
				peer.Close()
			default:
				peer.SetLinger(0)
				peer.Close()
			}
		}()
	}
	peers.Wait()

	// Every connection ends: wait for all of them.
	recs := make([]*recorder, 0, conns)
	for range conns {
		select {
		case r := <-made:
			recs = append(recs, r)
		case <-time.After(failAfter):
			t.Fatalf("only %d of %d connections were served", len(recs), conns)
		}
	}
	pauses := 0
	for i, r := range recs {
		tr := r.waitLost(t)
		if err := checkTrace(tr); err != nil {
			t.Errorf("connection %d: %v", i, err)
		}
		if n := r.overlaps.Load(); n != 0 {
			t.Errorf("connection %d: %d callbacks overlapped; trace %v", i, n, tr)
		}
		pauses += countKind(tr, cbPause)
	}
	t.Logf("%d connections, %d PauseWriting in all", conns, pauses)
}

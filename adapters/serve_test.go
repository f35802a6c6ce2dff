package adapters_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// serveInBackground runs adapters.Serve and returns its result channel.
func serveInBackground[P adapters.Protocol](ctx context.Context, srv *transport.Server, factory func() P) <-chan error {
	done := make(chan error, 1)
	go func() { done <- adapters.Serve(ctx, srv, factory) }()
	return done
}

func listen(t *testing.T, opts ...transport.Option) *transport.Server {
	t.Helper()
	srv, err := transport.Listen(context.Background(), "tcp", "127.0.0.1:0", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// TestServe_ReturnsErrServerClosed: Serve returns
// transport.ErrServerClosed once the server is closed or shut down, and
// the connections it served end.
func TestServe_ReturnsErrServerClosed(t *testing.T) {
	tests := []struct {
		name string
		stop func(srv *transport.Server) error
	}{
		{name: "Close", stop: func(srv *transport.Server) error { return srv.Close() }},
		{name: "Shutdown", stop: func(srv *transport.Server) error {
			ctx, cancel := context.WithTimeout(context.Background(), failAfter)
			defer cancel()
			return srv.Shutdown(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := listen(t)
			r := newRecorder()
			r.onEOF = func() bool { return false }
			done := serveInBackground(context.Background(), srv, func() *recorder { return r })
			peer := dialPeer(t, srv.Addr().String(), 0)
			r.waitMade(t)
			if tt.name == "Shutdown" {
				peer.CloseWrite() // Shutdown waits for the connection to end
			}
			if err := tt.stop(srv); err != nil {
				t.Fatalf("stopping the server: %v", err)
			}
			if err := waitErr(t, done, "Serve to return"); !errors.Is(err, transport.ErrServerClosed) {
				t.Fatalf("Serve returned %v, want transport.ErrServerClosed", err)
			}
			if err := checkTrace(r.waitLost(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestServe_ReturnsContextError: Serve returns ctx.Err() once ctx ends;
// the server itself stays usable.
func TestServe_ReturnsContextError(t *testing.T) {
	srv := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := serveInBackground(ctx, srv, func() *echoProto { return &echoProto{} })
	peer := dialPeer(t, srv.Addr().String(), 0)
	peer.Write([]byte("hi"))
	if got := string(readExactly(t, peer, 2)); got != "hi" {
		t.Fatalf("echo %q", got)
	}
	cancel()
	if err := waitErr(t, done, "Serve to return"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve returned %v, want context.Canceled", err)
	}
	// The connection already served is not Serve's to end.
	peer.Write([]byte("still"))
	if got := string(readExactly(t, peer, 5)); got != "still" {
		t.Fatalf("echo after Serve returned: %q", got)
	}
	// A new Serve on the same server picks up from there.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := serveInBackground(ctx2, srv, func() *echoProto { return &echoProto{} })
	t.Cleanup(func() { cancel2(); <-done2 })
	p2 := dialPeer(t, srv.Addr().String(), 0)
	p2.Write([]byte("again"))
	if got := string(readExactly(t, p2, 5)); got != "again" {
		t.Fatalf("echo from the second Serve: %q", got)
	}
}

// TestER2_FactoryFailureAbortsOnlyThatConnection: a factory that panics
// or returns nil (a nil pointer or a nil interface) aborts that one
// connection; Serve goes on serving the next.
func TestER2_FactoryFailureAbortsOnlyThatConnection(t *testing.T) {
	var calls atomic.Int32
	behaviours := []func() adapters.Protocol{
		func() adapters.Protocol { panic(panicValue{"factory"}) },
		func() adapters.Protocol { return nil },
		func() adapters.Protocol { return (*echoProto)(nil) },
		func() adapters.Protocol { return &echoProto{} },
	}
	srv := startServe(t, func() adapters.Protocol {
		i := int(calls.Add(1)) - 1
		return behaviours[min(i, len(behaviours)-1)]()
	})
	addr := srv.Addr().String()
	for i, name := range []string{"panic", "nil interface", "nil pointer"} {
		c := dialPeer(t, addr, 0)
		c.Write([]byte("anyone?"))
		res := waitResult(t, readUntilEnd(c, 64, nil))
		var ne net.Error
		if len(res.data) != 0 || res.err == nil || errors.As(res.err, &ne) && ne.Timeout() {
			t.Fatalf("factory %s (call %d): the peer read %q, %v; want the connection closed", name, i+1, res.data, res.err)
		}
	}
	c := dialPeer(t, addr, 0)
	c.Write([]byte("echo"))
	if got := string(readExactly(t, c, 4)); got != "echo" {
		t.Fatalf("echo %q after the failing factories", got)
	}
	if n := calls.Load(); n != 4 {
		t.Fatalf("factory called %d times, want 4", n)
	}
}

// TestConnect_Errors: Connect's failures return an error, make no
// protocol or abort the one made, and leave nothing open.
func TestConnect_Errors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()

	t.Run("unknown network", func(t *testing.T) {
		called := false
		_, _, err := adapters.Connect(ctx, "carrier-pigeon", "127.0.0.1:1", func() *recorder { called = true; return newRecorder() })
		if !errors.Is(err, transport.ErrUnknownNetwork) {
			t.Fatalf("Connect: %v, want transport.ErrUnknownNetwork", err)
		}
		if called {
			t.Fatal("the factory was called for a failed dial")
		}
	})
	t.Run("refused", func(t *testing.T) {
		ln := rawListener(t)
		addr := ln.Addr().String()
		ln.Close()
		if _, _, err := adapters.Connect(ctx, "tcp", addr, func() *recorder { return newRecorder() }); err == nil {
			t.Fatal("Connect to a closed port succeeded")
		}
	})
	for _, tt := range []struct {
		name    string
		factory func() adapters.Protocol
		check   func(err error) bool
	}{
		{
			name:    "factory panics",
			factory: func() adapters.Protocol { panic(panicValue{"factory"}) },
			check: func(err error) bool {
				var pe *adapters.PanicError
				return errors.As(err, &pe) && pe.Value == panicValue{"factory"}
			},
		},
		{
			name:    "factory returns nil",
			factory: func() adapters.Protocol { return nil },
			check:   func(err error) bool { return errors.Is(err, adapters.ErrNilProtocol) },
		},
		{
			name:    "factory returns a nil pointer",
			factory: func() adapters.Protocol { return (*recorder)(nil) },
			check:   func(err error) bool { return errors.Is(err, adapters.ErrNilProtocol) },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ln := rawListener(t)
			tr, p, err := adapters.Connect(ctx, "tcp", ln.Addr().String(), tt.factory)
			if !tt.check(err) {
				t.Fatalf("Connect: %v", err)
			}
			if tr != nil || p != nil {
				t.Fatalf("Connect returned %v, %v with its error", tr, p)
			}
			peer := acceptPeer(t, ln)
			if res := waitResult(t, readUntilEnd(peer, 64, nil)); res.err == nil || len(res.data) != 0 {
				t.Fatalf("the peer read %q, %v; want the connection closed", res.data, res.err)
			}
		})
	}
}

// TestAdapt_NotAdaptable: a transport whose events already have a
// consumer cannot be adapted, and the consumer keeps them all.
func TestAdapt_NotAdaptable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	ln := rawListener(t)

	t.Run("after Events", func(t *testing.T) {
		tr, err := transport.Dial(ctx, "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tr.Abort)
		peer := acceptPeer(t, ln)
		events := tr.Events()
		r := newRecorder()
		if err := adapters.Adapt(tr, r); !errors.Is(err, adapters.ErrNotAdaptable) {
			t.Fatalf("Adapt after Events: %v, want ErrNotAdaptable", err)
		}
		peer.Write([]byte("for the channel"))
		peer.CloseWrite()
		var got []byte
		timeout := time.After(failAfter)
	loop:
		for {
			select {
			case e, ok := <-events:
				if !ok {
					break loop
				}
				got = append(got, e.Data...)
			case <-timeout:
				t.Fatal("timed out reading the events")
			}
		}
		if string(got) != "for the channel" {
			t.Fatalf("the channel consumer got %q", got)
		}
		if tr := r.snapshot(); len(tr) != 0 {
			t.Fatalf("the refused protocol was called: %v", tr)
		}
	})
	t.Run("twice", func(t *testing.T) {
		tr, err := transport.Dial(ctx, "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tr.Abort)
		acceptPeer(t, ln)
		first, second := newRecorder(), newRecorder()
		if err := adapters.Adapt(tr, first); err != nil {
			t.Fatal(err)
		}
		if err := adapters.Adapt(tr, second); !errors.Is(err, adapters.ErrNotAdaptable) {
			t.Fatalf("second Adapt: %v, want ErrNotAdaptable", err)
		}
		if _, err := adapters.NewReader(tr).Read(make([]byte, 1)); !errors.Is(err, stream.ErrAlreadySubscribed) {
			t.Fatalf("NewReader on an adapted transport: Read gave %v, want stream.ErrAlreadySubscribed", err)
		}
		tr.Close()
		if err := checkTrace(first.waitLost(t)); err != nil {
			t.Fatal(err)
		}
		if tr := second.snapshot(); len(tr) != 0 {
			t.Fatalf("the refused protocol was called: %v", tr)
		}
	})
}

// Serve starts serving a server listened WithStartServing(false), as
// asyncio's serve_forever does: a client that connected and sent before
// is served.
func TestServeStartsServing(t *testing.T) {
	srv := listen(t, transport.WithStartServing(false))
	peer := dialPeer(t, srv.Addr().String(), 0)
	if _, err := peer.Write([]byte("early")); err != nil {
		t.Fatal(err)
	}
	if srv.IsServing() {
		t.Fatal("IsServing before Serve: true")
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := serveInBackground(ctx, srv, func() *echoProto { return &echoProto{} })
	got := make([]byte, 5)
	peer.SetReadDeadline(time.Now().Add(failAfter))
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != "early" {
		t.Fatalf("echo: %q, %v; want early", got, err)
	}
	if !srv.IsServing() {
		t.Error("IsServing while Serve runs: false")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve: %v, want context.Canceled", err)
	}
}

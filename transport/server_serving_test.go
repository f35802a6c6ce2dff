package transport_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/reactivex/rxgo/v2"
	"go.uber.org/goleak"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// noNewGoroutines fails the test when a goroutine runs that did not run
// when ign was taken: a server that is not serving runs none.
func noNewGoroutines(t *testing.T, ign goleak.Option, when string) {
	t.Helper()
	if err := goleak.Find(ign); err != nil {
		t.Fatalf("%s: %v", when, err)
	}
}

// readAll collects a transport's Data events until want bytes came.
func readAll(t *testing.T, ch <-chan stream.Event, want int) string {
	t.Helper()
	var got []byte
	for len(got) < want {
		e := nextEvent(t, ch)
		if e.Kind != stream.Data {
			t.Fatalf("got %v, want Data", e)
		}
		got = append(got, e.Data...)
	}
	return string(got)
}

// A server listened WithStartServing(false) accepts nothing, and runs no
// goroutine, until StartServing; a client connects meanwhile (the
// kernel's backlog) and is accepted after, with what it sent.
func TestServerStartServingLater(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		ign := goleak.IgnoreCurrent()
		srv := listen(t, network, transport.WithStartServing(false))
		if srv.IsServing() {
			t.Fatal("IsServing before StartServing: true")
		}
		peer := dial(t, srv)
		if _, err := peer.Write([]byte("early")); err != nil {
			t.Fatalf("peer write before StartServing: %v", err)
		}
		noNewGoroutines(t, ign, "before StartServing")
		if n := srv.Stats().Accepted; n != 0 {
			t.Fatalf("accepted %d before StartServing, want 0", n)
		}

		for range 2 { // idempotent
			if err := srv.StartServing(); err != nil {
				t.Fatalf("StartServing: %v", err)
			}
		}
		if !srv.IsServing() {
			t.Fatal("IsServing after StartServing: false")
		}
		ch := accept(t, srv).Events()
		if e := nextEvent(t, ch); e.Kind != stream.Made {
			t.Fatalf("first event %v, want Made", e)
		}
		if got := readAll(t, ch, 5); got != "early" {
			t.Fatalf("read %q, want early", got)
		}

		srv.Close()
		if srv.IsServing() {
			t.Error("IsServing after Close: true")
		}
		if err := srv.StartServing(); !errors.Is(err, transport.ErrServerClosed) {
			t.Errorf("StartServing after Close: %v, want ErrServerClosed", err)
		}
	})
}

// The first claim of the accepted transports starts serving: Accept,
// Transports and an Observable subscription (asyncio's serve_forever).
func TestServerFirstClaimStartsServing(t *testing.T) {
	claims := map[string]func(t *testing.T, srv *transport.Server) transport.Transport{
		"Accept":     accept,
		"Transports": func(t *testing.T, srv *transport.Server) transport.Transport { return srvRecv(t, srv.Transports()) },
		"Observable": func(t *testing.T, srv *transport.Server) transport.Transport {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			item, ok := srvItem(t, srv.Observable().Observe(rxgo.WithContext(ctx)))
			if !ok || item.E != nil {
				t.Fatalf("Observable: %v, %v; want a transport", item, ok)
			}
			tr := item.V.(transport.Transport)
			t.Cleanup(tr.Abort)
			return tr
		},
	}
	for name, claim := range claims {
		t.Run(name, func(t *testing.T) {
			networks(t, func(t *testing.T, network string) {
				srv := listen(t, network, transport.WithStartServing(false))
				peer := dial(t, srv)
				if srv.IsServing() {
					t.Fatal("IsServing before the claim: true")
				}
				tr := claim(t, srv)
				if !srv.IsServing() {
					t.Error("IsServing after the claim: false")
				}
				roundTrip(t, tr, afterMade(t, tr.Events()), peer)
			})
		})
	}
}

// afterMade takes Made from ch and returns ch.
func afterMade(t *testing.T, ch <-chan stream.Event) <-chan stream.Event {
	t.Helper()
	if e := nextEvent(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
	return ch
}

// Closing (or shutting down) a server that never served releases its
// listener at once, so its address can be listened on again, ends the
// connections waiting in the backlog, and leaves no goroutine behind.
func TestLC5_NeverServedServerCloseReleases(t *testing.T) {
	for _, end := range []string{"Close", "Shutdown"} {
		t.Run(end, func(t *testing.T) {
			networks(t, func(t *testing.T, network string) {
				ign := goleak.IgnoreCurrent()
				srv, err := transport.Listen(context.Background(), network, listenAddr(t, network), transport.WithStartServing(false))
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				addr := srv.Addr().String()
				peer := dial(t, srv)
				if end == "Close" {
					err = srv.Close()
				} else {
					err = srv.Shutdown(context.Background())
				}
				if err != nil {
					t.Fatalf("%s: %v", end, err)
				}
				checkNeverServedClosed(t, srv)
				expectPeerEnd(t, peer)
				peer.Close()
				noNewGoroutines(t, ign, "after "+end)
				ln, err := net.Listen(network, addr) // free again
				if err != nil {
					t.Fatalf("listen again on %s: %v", addr, err)
				}
				ln.Close()
			})
		})
	}
}

// checkNeverServedClosed checks what a closed server that never served
// answers.
func checkNeverServedClosed(t *testing.T, srv *transport.Server) {
	t.Helper()
	if srv.IsServing() {
		t.Error("IsServing after the end: true")
	}
	if err := srv.StartServing(); !errors.Is(err, transport.ErrServerClosed) {
		t.Errorf("StartServing after the end: %v, want ErrServerClosed", err)
	}
	if tr, err := srv.Accept(context.Background()); !errors.Is(err, transport.ErrServerClosed) {
		t.Errorf("Accept after the end: %v, %v; want ErrServerClosed", tr, err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// StartServing, claims and Close racing each other neither deadlock nor
// leave the accept goroutine behind (TestMain's goleak checks).
func TestCC1_StartServingRacesClose(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		for range 20 {
			srv := listen(t, network, transport.WithStartServing(false))
			var wg sync.WaitGroup
			wg.Go(func() { srv.StartServing() })
			wg.Go(func() { srv.Transports() })
			wg.Go(func() { srv.IsServing() })
			wg.Go(func() { srv.Close() })
			wg.Wait()
			srv.Close()
			if srv.IsServing() {
				t.Fatal("IsServing after Close: true")
			}
		}
	})
}

// A ListenTLS server listened WithStartServing(false) starts no
// handshake before StartServing (it runs no goroutine); a client's
// handshake, begun before, completes after it.
func TestServerStartServingLaterTLS(t *testing.T) {
	_, serverConf, clientConf := tlsCerts(t)
	clientConf.ServerName = "localhost"
	ign := goleak.IgnoreCurrent()
	srv := tlsListen(t, serverConf, transport.WithStartServing(false))
	noNewGoroutines(t, ign, "before StartServing")
	peers := make(chan tlsPeerResult, 1)
	go func() {
		p, err := tlsDialPeer(srv.Addr().String(), clientConf)
		peers <- tlsPeerResult{p, err}
	}()
	if err := srv.StartServing(); err != nil {
		t.Fatalf("StartServing: %v", err)
	}
	p := tlsPeerResultOf(t, peers) // the server handshakes before Accept
	if p.err != nil {
		t.Fatalf("client handshake: %v", p.err)
	}
	tr := accept(t, srv)
	defer p.peer.Close()
	ch := tr.Events()
	tlsMade(t, ch)
	p.peer.Write([]byte("late"))
	if got := tlsData(t, ch, 4); got != "late" {
		t.Fatalf("read %q, want late", got)
	}
}

package transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/reactivex/rxgo/v2"
	"go.uber.org/goleak"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// srvEcho echoes tr's Data until its events end and sends the events it
// received on the returned channel.
func srvEcho(tr transport.Transport) <-chan []stream.Event {
	done := make(chan []stream.Event, 1)
	go func() {
		var evs []stream.Event
		for e := range tr.Events() {
			evs = append(evs, e)
			if e.Kind == stream.Data {
				tr.Write(e.Data)
			}
		}
		done <- evs
	}()
	return done
}

// srvEchoed writes msg from the peer and reads the echo back.
func srvEchoed(t *testing.T, peer net.Conn, msg []byte) {
	t.Helper()
	if _, err := peer.Write(msg); err != nil {
		t.Fatalf("peer write: %v", err)
	}
	peer.SetReadDeadline(time.Now().Add(waitTimeout))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(peer, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("peer read %d bytes, %v; want the echo of %d", len(got), err, len(msg))
	}
}

// srvEvents waits for the events srvEcho collected.
func srvEvents(t *testing.T, done <-chan []stream.Event) []stream.Event {
	t.Helper()
	select {
	case evs := <-done:
		return evs
	case <-time.After(waitTimeout):
		t.Fatal("the transport's events did not end")
		return nil
	}
}

// srvRecv receives a transport from ch (failing when it is closed) and
// aborts it when the test ends.
func srvRecv(t *testing.T, ch <-chan transport.Transport) transport.Transport {
	t.Helper()
	select {
	case tr, ok := <-ch:
		if !ok {
			t.Fatal("Transports closed, want a transport")
		}
		t.Cleanup(tr.Abort)
		return tr
	case <-time.After(waitTimeout):
		t.Fatal("no transport within the guard")
		return nil
	}
}

// srvItem receives one item from an Observable's channel.
func srvItem(t *testing.T, items <-chan rxgo.Item) (rxgo.Item, bool) {
	t.Helper()
	select {
	case it, ok := <-items:
		return it, ok
	case <-time.After(waitTimeout):
		t.Fatal("no item within the guard")
		return rxgo.Item{}, false
	}
}

// srvClosed waits until ch is closed, failing if it delivers a value.
func srvClosed[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("%s delivered %v, want it closed", what, v)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("%s not closed within the guard", what)
	}
}

// srvPeerFor returns the peer whose local address is tr's peer name.
func srvPeerFor(t *testing.T, tr transport.Transport, peers []net.Conn) net.Conn {
	t.Helper()
	v, ok := tr.ExtraInfo(transport.InfoPeername)
	if !ok {
		t.Fatal(`ExtraInfo("peername") missing`)
	}
	for _, p := range peers {
		if p.LocalAddr().String() == v.(net.Addr).String() {
			return p
		}
	}
	t.Fatalf("no peer at %v", v)
	return nil
}

// srvSum is the sum of the transports' Stats.
func srvSum(trs ...transport.Transport) transport.Stats {
	var s transport.Stats
	for _, tr := range trs {
		s = s.Add(tr.Stats())
	}
	return s
}

// TestServerStatsAcceptedOpenAndSums echoes on three accepted transports,
// lets two of them end (the peer's EOF), then closes the server: at each
// step Accepted counts every transport, Open those still open, and
// Transports is exactly the sum of the transports' own Stats, the closed
// ones' final counters (their Lost included) and the open one's.
func TestServerStatsAcceptedOpenAndSums(t *testing.T) {
	srv := listen(t, "tcp")
	if st := srv.Stats(); st != (transport.ServerStats{}) {
		t.Fatalf("a new server's stats: %+v, want zero", st)
	}
	var peers []net.Conn
	var trs []transport.Transport
	var done []<-chan []stream.Event
	for i := range 3 {
		peers = append(peers, dial(t, srv))
		tr := accept(t, srv)
		trs = append(trs, tr)
		done = append(done, srvEcho(tr))
		srvEchoed(t, peers[i], bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1)))
	}
	for i, tr := range trs { // the echo is small: Write sent it at once
		waitUntil(t, "the echo counted", func() bool { return tr.Stats().BytesWritten == int64(1000*(i+1)) })
	}
	st := srv.Stats()
	if st.Accepted != 3 || st.Open != 3 {
		t.Errorf("Accepted %d, Open %d; want 3, 3", st.Accepted, st.Open)
	}
	if want := srvSum(trs...); st.Transports != want {
		t.Errorf("Transports %+v, want the sum %+v", st.Transports, want)
	}
	if st.Transports.BytesRead != 6000 || st.Transports.BytesWritten != 6000 {
		t.Errorf("Transports BytesRead %d, BytesWritten %d; want 6000 each", st.Transports.BytesRead, st.Transports.BytesWritten)
	}

	for i := range 2 {
		peers[i].(*net.TCPConn).CloseWrite() // EOF: the transport closes itself
		srvEvents(t, done[i])
		expectPeerEnd(t, peers[i])
	}
	// After the peer's EOF a channel consumer gets Lost before the close's
	// flush ends (DESIGN.md): the server counts the transport until then.
	waitUntil(t, "two transports ended", func() bool { return srv.Stats().Open == 1 })
	st = srv.Stats()
	if st.Accepted != 3 || st.Open != 1 {
		t.Errorf("after two ended: Accepted %d, Open %d; want 3, 1", st.Accepted, st.Open)
	}
	if want := srvSum(trs...); st.Transports != want {
		t.Errorf("after two ended: Transports %+v, want the sum %+v", st.Transports, want)
	}

	srv.Close() // aborts the third
	evs := srvEvents(t, done[2])
	st = srv.Stats()
	if st.Accepted != 3 || st.Open != 0 {
		t.Errorf("after Close: Accepted %d, Open %d; want 3, 0", st.Accepted, st.Open)
	}
	if want := srvSum(trs...); st.Transports != want {
		t.Errorf("after Close: Transports %+v, want the sum %+v", st.Transports, want)
	}
	if got := trs[2].Stats().Events; got != int64(len(evs)) {
		t.Errorf("the third transport's Events %d, its channel delivered %d", got, len(evs))
	}
}

// srvStatsUnderLoad runs conns connections, one after the other, through
// a server fed by Transports (an echo of a short message, or, without
// echo, an abort at once), while four goroutines call Server.Stats and
// pass each snapshot with the previous one to check, which returns a
// complaint or "". It returns the server's final stats.
func srvStatsUnderLoad(t *testing.T, conns int, echo bool, check func(prev, st transport.ServerStats) string) transport.ServerStats {
	srv := listen(t, "tcp")
	ch := srv.Transports()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var last transport.ServerStats
			for {
				select {
				case <-stop:
					return
				default:
				}
				st := srv.Stats()
				if msg := check(last, st); msg != "" {
					t.Errorf("%s: %+v after %+v", msg, st, last)
					return
				}
				last = st
			}
		})
	}
	var ends []<-chan []stream.Event
	for i := range conns {
		peer := dial(t, srv)
		tr := srvRecv(t, ch)
		if !echo {
			tr.Abort()
			continue
		}
		ends = append(ends, srvEcho(tr))
		srvEchoed(t, peer, bytes.Repeat([]byte{byte(i)}, 100+i))
		peer.Close()
	}
	for _, end := range ends {
		srvEvents(t, end)
	}
	close(stop)
	wg.Wait()
	waitUntil(t, "every transport ended", func() bool { return srv.Stats().Open == 0 }) // Lost comes before the flush
	return srv.Stats()
}

// TestCC1_ServerStatsConcurrent calls Server.Stats from several goroutines
// while connections come, echo and go (run it with -race): Accepted and
// the bytes read never go down, and at the end every connection and byte
// is counted and none is open.
func TestCC1_ServerStatsConcurrent(t *testing.T) {
	const conns = 16
	st := srvStatsUnderLoad(t, conns, true, func(prev, st transport.ServerStats) string {
		if st.Accepted < prev.Accepted || st.Open < 0 || st.Transports.BytesRead < prev.Transports.BytesRead {
			return "server stats went down"
		}
		return ""
	})
	if st.Accepted != conns || st.Open != 0 {
		t.Errorf("Accepted %d, Open %d; want %d, 0", st.Accepted, st.Open, conns)
	}
	if want := int64(conns*100 + conns*(conns-1)/2); st.Transports.BytesRead != want || st.Transports.BytesWritten != want {
		t.Errorf("Transports.BytesRead %d, BytesWritten %d; want %d each", st.Transports.BytesRead, st.Transports.BytesWritten, want)
	}
}

// TestServerStatsOpenNeverAboveAccepted checks that every Server.Stats
// snapshot is coherent while connections come and go: the open
// transports are some of the accepted ones, so Open <= Accepted.
func TestServerStatsOpenNeverAboveAccepted(t *testing.T) {
	srvStatsUnderLoad(t, 300, false, func(_, st transport.ServerStats) string {
		if int64(st.Open) > st.Accepted {
			return "more open than accepted"
		}
		return ""
	})
}

// TestServerTransportsChannel checks Server.Transports: the same channel
// on every call, delivering each accepted connection as a transport that
// works both ways; Accept and Observable are then refused with
// ErrAlreadySubscribed; Close closes the channel and aborts the
// transports it delivered.
func TestServerTransportsChannel(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		srv := listen(t, network)
		ch := srv.Transports()
		if again := srv.Transports(); again != ch {
			t.Fatal("Transports returned a different channel on the second call")
		}
		peers := []net.Conn{dial(t, srv), dial(t, srv)}
		var evs []<-chan stream.Event
		for i := range peers {
			tr := srvRecv(t, ch)
			ech := tr.Events()
			if e := nextEvent(t, ech); e.Kind != stream.Made {
				t.Fatalf("first event %v, want Made", e)
			}
			peer := peers[i] // a unix socket's peer has no name; the backlog is in order
			if network == "tcp" {
				peer = srvPeerFor(t, tr, peers)
			}
			roundTrip(t, tr, ech, peer)
			evs = append(evs, ech)
		}

		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if tr, err := srv.Accept(ctx); !errors.Is(err, stream.ErrAlreadySubscribed) {
			t.Errorf("Accept after Transports: %v, %v; want ErrAlreadySubscribed", tr, err)
		}
		srvOneError(t, srv.Observable(), stream.ErrAlreadySubscribed)

		srv.Close()
		srvClosed(t, ch, "Transports after Close")
		for _, ech := range evs {
			if e := waitLost(t, ech); e.Err != nil {
				t.Errorf("aborted transport: %v, want Lost(nil)", e)
			}
		}
	})
}

// srvOneError subscribes to obs and checks that it delivers exactly one
// item, an error matching want, then completes.
func srvOneError(t *testing.T, obs rxgo.Observable, want error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	items := obs.Observe(rxgo.WithContext(ctx))
	it, ok := srvItem(t, items)
	if !ok || !it.Error() || !errors.Is(it.E, want) {
		t.Fatalf("first item %+v (open %v), want the error %v", it, ok, want)
	}
	srvClosed(t, items, "the refused Observable")
}

// TestServerTransportsAfterAccept checks that once Accept has claimed the
// accepted transports, Transports returns a closed channel and Observable
// one ErrAlreadySubscribed item, and that Accept still works.
func TestServerTransportsAfterAccept(t *testing.T) {
	srv := listen(t, "tcp")
	dial(t, srv)
	accept(t, srv)
	srvClosed(t, srv.Transports(), "Transports after Accept")
	srvOneError(t, srv.Observable(), stream.ErrAlreadySubscribed)
	dial(t, srv)
	accept(t, srv) // Accept keeps its claim
}

// TestServerObservable subscribes to Server.Observable: its items are the
// accepted transports, which work; a second subscription gets one
// ErrAlreadySubscribed item, and so does Transports (a closed channel)
// and Accept; Close completes the Observable and aborts the transports.
func TestServerObservable(t *testing.T) {
	srv := listen(t, "tcp")
	obs := srv.Observable()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	items := obs.Observe(rxgo.WithContext(ctx))
	var peers []net.Conn
	var evs []<-chan stream.Event
	for range 3 {
		peers = append(peers, dial(t, srv))
		it, ok := srvItem(t, items)
		if !ok || it.Error() {
			t.Fatalf("item %+v (open %v), want a transport", it, ok)
		}
		tr, isT := it.V.(transport.Transport)
		if !isT {
			t.Fatalf("item value %T, want a transport.Transport", it.V)
		}
		t.Cleanup(tr.Abort)
		ech := tr.Events()
		nextEvent(t, ech)
		roundTrip(t, tr, ech, srvPeerFor(t, tr, peers))
		evs = append(evs, ech)
	}
	srvOneError(t, obs, stream.ErrAlreadySubscribed)
	srvOneError(t, srv.Observable(), stream.ErrAlreadySubscribed)
	srvClosed(t, srv.Transports(), "Transports after Observable")
	actx, acancel := context.WithTimeout(context.Background(), waitTimeout)
	defer acancel()
	if _, err := srv.Accept(actx); !errors.Is(err, stream.ErrAlreadySubscribed) {
		t.Errorf("Accept after Observable: %v, want ErrAlreadySubscribed", err)
	}

	srv.Close()
	srvClosed(t, items, "the Observable after Close")
	for _, ech := range evs {
		waitLost(t, ech)
	}
}

// TestLC5_ServerObservableCancelClosesServer cancels the subscription's
// context while a connection waits to be taken: the server closes (a new
// dial is refused), the waiting connection and the transport already
// taken are aborted, the Observable completes, and every goroutine ends.
func TestLC5_ServerObservableCancelClosesServer(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) }) // runs after the other cleanups
	srv := listen(t, "tcp")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	items := srv.Observable().Observe(rxgo.WithContext(ctx))
	taken := dial(t, srv)
	it, ok := srvItem(t, items)
	if !ok || it.Error() {
		t.Fatalf("item %+v (open %v), want a transport", it, ok)
	}
	tr := it.V.(transport.Transport)
	ech := tr.Events()
	nextEvent(t, ech)
	waiting := dial(t, srv) // accepted, but nobody takes the item

	cancel()
	for it := range items { // it may or may not have gone out: either way it ends
		if tr, ok := it.V.(transport.Transport); ok {
			tr.Abort()
		}
	}
	if e := waitLost(t, ech); e.Err != nil {
		t.Errorf("the taken transport: %v, want Lost(nil) (aborted)", e)
	}
	expectPeerEnd(t, taken)
	expectPeerEnd(t, waiting)
	if c, err := net.DialTimeout("tcp", srv.Addr().String(), waitTimeout); err == nil {
		c.Close()
		t.Error("a dial after the cancel succeeded: the server still listens")
	}
	actx, acancel := context.WithTimeout(context.Background(), waitTimeout)
	defer acancel()
	if _, err := srv.Accept(actx); !errors.Is(err, stream.ErrAlreadySubscribed) {
		t.Errorf("Accept: %v, want ErrAlreadySubscribed", err)
	}
}

// TestServerObservableCompletesWhenListenerEnds checks that Shutdown, like
// Close, completes the Observable, whether the connection waiting to be
// taken went out as an item (then aborted here, so Shutdown can return)
// or was aborted by the server.
func TestServerObservableCompletesWhenListenerEnds(t *testing.T) {
	srv := listen(t, "tcp")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	items := srv.Observable().Observe(rxgo.WithContext(ctx))
	dial(t, srv) // accepted; the subscriber does not take it yet
	sctx, scancel := context.WithTimeout(context.Background(), waitTimeout)
	defer scancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(sctx) }()
	var got []transport.Transport
	for it := range items {
		if tr, ok := it.V.(transport.Transport); ok {
			got = append(got, tr)
			tr.Abort() // Shutdown waits for it
		} else {
			t.Errorf("item %+v, want a transport", it)
		}
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Shutdown did not return")
	}
	if len(got) > 1 {
		t.Errorf("%d transports for one connection", len(got))
	}
}

package adapters_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
)

// Regression tests for the handoff defects of the reliability issue: a
// Detach racing the transport's end, and an Attach racing the stream's
// start.

// TestDefect1_LC2_DetachAbortRacingEvents: Detach inside DataReceived,
// then Abort and Events from two goroutines at once. The stream's Made
// was sent by a goroutine of its own, after Lost had closed the channel:
// "send on closed channel" killed the process. A child process runs the
// rounds, so that a crash fails this test instead of the test binary.
func TestDefect1_LC2_DetachAbortRacingEvents(t *testing.T) {
	out, err := childCmd(t, "detach-abort-race", "1000").CombinedOutput()
	if err != nil {
		t.Fatalf("the child running Detach, then Abort racing Events, failed: %v\n%s", err, out)
	}
}

// detachAbortRace is the child of TestDefect1: args[0] rounds. It
// returns 0 when every detached stream was Made first, Lost last, then
// closed.
func detachAbortRace(args []string) int {
	rounds, _ := strconv.Atoi(args[0])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer ln.Close()
	for i := range rounds {
		if err := detachAbortRound(ln); err != nil {
			fmt.Fprintf(os.Stderr, "round %d: %v\n", i, err)
			return 1
		}
	}
	return 0
}

func detachAbortRound(ln net.Listener) error {
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	r := newRecorder()
	detached := make(chan *adapters.Detached, 1)
	r.onData = func(b []byte) {
		if d, err := adapters.Detach(r.transport(), b); err == nil {
			detached <- d
		}
	}
	tr, _, err := adapters.Connect(ctx, "tcp", ln.Addr().String(), func() *recorder { return r })
	if err != nil {
		return err
	}
	defer tr.Abort()
	peer, err := ln.Accept()
	if err != nil {
		return err
	}
	defer peer.Close()
	if _, err := peer.Write([]byte("rest")); err != nil {
		return err
	}
	var d *adapters.Detached
	select {
	case d = <-detached:
	case <-ctx.Done():
		return errors.New("no Detach")
	}
	var wg sync.WaitGroup
	wg.Go(tr.Abort)
	evs, err := collect(ctx, d.Events())
	wg.Wait()
	if err != nil {
		return err
	}
	if evs[0].Kind != stream.Made || evs[len(evs)-1].Kind != stream.Lost {
		return fmt.Errorf("the detached stream was %v: want Made first, Lost last", evs)
	}
	return nil
}

// collect reads ch until it is closed; it fails when ctx ends first.
func collect(ctx context.Context, ch <-chan stream.Event) ([]stream.Event, error) {
	var evs []stream.Event
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				if len(evs) == 0 {
					return nil, errors.New("the detached stream closed empty")
				}
				return evs, nil
			}
			evs = append(evs, e)
		case <-ctx.Done():
			return nil, fmt.Errorf("the detached stream never closed: got %v", evs)
		}
	}
}

// TestDefect2_LC2_DetachedLostBeforeClaim: the peer resets after Detach,
// before anyone claims the stream. The Lost was dropped for want of a
// consumer: a later Events gave Made and then nothing, never closing, and
// an Observable never completed, even once its context was cancelled.
// The claim now comes after the read goroutine has Lost in hand, and the
// stream still ends with it.
func TestDefect2_LC2_DetachedLostBeforeClaim(t *testing.T) {
	for _, claim := range []string{"events", "observable", "observable-cancelled"} {
		t.Run(claim, func(t *testing.T) {
			d := detachThenReset(t)
			ctx, cancel := context.WithTimeout(context.Background(), failAfter)
			defer cancel()
			var evs []stream.Event
			var err error
			switch claim {
			case "events":
				evs, err = collect(ctx, d.Events())
			case "observable":
				evs, err = collectItems(ctx, d.Observable().Observe(rxgo.WithContext(ctx)))
			case "observable-cancelled":
				sub, stop := context.WithCancel(ctx)
				items := d.Observable().Observe(rxgo.WithContext(sub))
				stop()
				if _, err := collectItems(ctx, items); err != nil && !errors.Is(err, context.Canceled) {
					t.Fatal(err)
				}
				return // ended: what it held before the cancel is not defined
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) < 2 || evs[0].Kind != stream.Made || evs[len(evs)-1].Kind != stream.Lost {
				t.Fatalf("stream %v: want Made first, Lost last", evs)
			}
			if lost := evs[len(evs)-1]; !errors.Is(lost.Err, syscall.ECONNRESET) {
				t.Fatalf("Lost(%v), want the peer's reset", lost.Err)
			}
		})
	}
}

// detachThenReset detaches a connection inside DataReceived, resets it
// from the peer, and returns the unclaimed stream once the transport's
// read goroutine has Lost in hand.
func detachThenReset(t *testing.T) *adapters.Detached {
	t.Helper()
	lost := make(chan struct{})
	var once sync.Once
	restore := adapters.SetForwardHook(func(e stream.Event) {
		if e.Kind == stream.Lost {
			once.Do(func() { close(lost) })
		}
	})
	t.Cleanup(restore)
	r := newRecorder()
	detached := hoDetachAfter(t, r, 1)
	_, peer := connectOne(t, r)
	if _, err := peer.Write([]byte("header\n")); err != nil {
		t.Fatal(err)
	}
	d := hoRecv(t, detached)
	resetPeer(t, peer)
	waitClosed(t, lost, "the read goroutine to forward Lost")
	return d
}

// collectItems reads an Observable's items until it completes; it fails
// when ctx ends first or on an error item.
func collectItems(ctx context.Context, items <-chan rxgo.Item) ([]stream.Event, error) {
	var evs []stream.Event
	for {
		select {
		case it, ok := <-items:
			if !ok {
				return evs, nil
			}
			if it.E != nil {
				return evs, it.E
			}
			evs = append(evs, it.V.(stream.Event))
		case <-ctx.Done():
			return nil, fmt.Errorf("the Observable never completed: got %v", evs)
		}
	}
}

// TestDefect3_RD1_AttachAtOnceKeepsRest: Detach with rest, then Attach at
// once, before anything read the stream. The stream's Made and rest were
// sent by a goroutine that Attach did not wait for: the new protocol
// never received rest. Several rounds, since the loss depended on that
// goroutine's timing.
func TestDefect3_RD1_AttachAtOnceKeepsRest(t *testing.T) {
	for i := range 20 {
		r := newRecorder()
		detached := make(chan *adapters.Detached, 1)
		r.onData = func(b []byte) {
			_, rest, _ := bytes.Cut(b, []byte("\n"))
			d, err := adapters.Detach(r.transport(), rest)
			if err != nil {
				t.Errorf("Detach: %v", err)
			}
			detached <- d
		}
		_, peer := connectOne(t, r)
		if _, err := peer.Write([]byte("HEADER\nrest-" + strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		d := hoRecv(t, detached)
		next := newRecorder()
		if err := d.Attach(next); err != nil {
			t.Fatalf("Attach: %v", err)
		}
		if _, err := peer.Write([]byte("|after")); err != nil {
			t.Fatal(err)
		}
		peer.CloseWrite()
		trace := next.waitLost(t)
		want := "rest-" + strconv.Itoa(i) + "|after"
		if got := string(received(trace)); got != want {
			t.Fatalf("round %d: the attached protocol received %q, want %q (trace %v)", i, got, want, trace)
		}
		if strings.Contains(fmt.Sprint(trace), cbMade) {
			t.Fatalf("round %d: the attached protocol got ConnectionMade: %v", i, trace)
		}
	}
}

//go:build linux

package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
)

// abortingHandler is the adapter's part as a loop sees it, recording its
// events; its Upgrading, which StartTLS calls after its checks and before
// the transport leaves its loop, aborts the transport, as an Abort made
// on another goroutine in that window would (found by the chaos suite:
// an Observable's cancelled subscription aborting while its consumer
// runs StartTLS).
type abortingHandler struct {
	quietHandler
	c      *conn
	events chan stream.Event
}

func (h *abortingHandler) Event(e stream.Event) { h.events <- e }

func (h *abortingHandler) TryEvent(e stream.Event) bool {
	e.Data = append([]byte(nil), e.Data...) // the loop's buffer is lent for the call
	h.events <- e
	return true
}

func (h *abortingHandler) Upgrading() { h.c.Abort() }

// TestTL1_SF3_LC2_StartTLSAbortedOnLoopReturns: on the poll engine, an
// Abort that ends a transport after StartTLS's checks, while the
// transport is still on its loop, makes StartTLS return the close's
// error at once (no read goroutine will ever run its handshake), and
// Lost is delivered, last. Before the fix StartTLS waited for its
// context, and so did a channel or Observable consumer that called it.
func TestTL1_SF3_LC2_StartTLSAbortedOnLoopReturns(t *testing.T) {
	c, _ := loopConnPair(t)
	h := &abortingHandler{c: c, events: make(chan stream.Event, 4)}
	if !c.Attach(h) {
		t.Fatal("Attach refused")
	}
	if e := <-h.events; e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e.Kind)
	}
	// A timeout only so that the test fails instead of hanging: StartTLS
	// returns as soon as the transport is done.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := StartTLS(ctx, c, &tls.Config{ServerName: "localhost"})
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("StartTLS on a transport aborted meanwhile returned %v, want an error matching net.ErrClosed", err)
	}
	if e := <-h.events; e.Kind != stream.Lost || e.Err != nil {
		t.Fatalf("event after the abort %v (%v), want Lost(nil)", e.Kind, e.Err)
	}
}

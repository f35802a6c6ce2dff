//go:build linux

package transport_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// Every transport that writes has the one FlowControl (issue 12, item 6).
var (
	_ transport.FlowControl = transport.WriteTransport(nil)
	_ transport.FlowControl = transport.DatagramTransport(nil)
	_ transport.FlowControl = transport.Transport(nil)
)

// TestWR5_DatagramFlowControl drives a stalled unixgram endpoint's write
// flow control through the FlowControl interface alone: paused, its
// Writable is open no more and Drain waits (here until ctx ends); new
// limits set through it resume writing, and Writable, Drain and the
// limits agree.
func TestWR5_DatagramFlowControl(t *testing.T) {
	s := newStalledDg(t, transport.WithWriteBufferLimits(0, 0))
	var fc transport.FlowControl = s.tr
	s.fill(t, 100)
	s.expectFlow(t, stream.PauseWriting)
	if fc.WriteBufferSize() == 0 || gateOpen(fc.Writable()) {
		t.Fatalf("stalled: WriteBufferSize %d, Writable open %v; want queued bytes and a closed gate", fc.WriteBufferSize(), gateOpen(fc.Writable()))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := fc.Drain(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain while paused with an ended ctx = %v, want context.Canceled", err)
	}
	if err := fc.SetWriteBufferLimits(1<<30, 1<<20); err != nil {
		t.Fatalf("SetWriteBufferLimits through FlowControl: %v", err)
	}
	s.expectFlow(t, stream.ResumeWriting)
	if high, low := fc.WriteBufferLimits(); high != 1<<30 || low != 1<<20 {
		t.Fatalf("WriteBufferLimits = (%d, %d), want (%d, %d)", high, low, 1<<30, 1<<20)
	}
	if !gateOpen(fc.Writable()) {
		t.Fatal("Writable not open after the resume")
	}
	if err := fc.Drain(context.Background()); err != nil {
		t.Fatalf("Drain after the resume = %v, want nil", err)
	}
	s.peerReadAll(t)
}

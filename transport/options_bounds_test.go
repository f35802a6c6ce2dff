//go:build unix

package transport_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/rxnet/rxnet/transport"
)

// TestDefect8_ER1_AbsurdOptionValues: every numeric option has an upper
// bound, checked when the transport is made. WithEventBuffer(math.MaxInt)
// used to pass, and Events then panicked in make(chan); an absurd read
// limit did the same to a datagram endpoint's channel.
func TestDefect8_ER1_AbsurdOptionValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  transport.Option
	}{
		{name: "EventBuffer", opt: transport.WithEventBuffer(math.MaxInt)},
		{name: "EventBufferJustOver", opt: transport.WithEventBuffer(1<<16 + 1)},
		{name: "ReadLimit", opt: transport.WithReadLimit(math.MaxInt)},
		{name: "ReceiveBuffer", opt: transport.WithReceiveBuffer(math.MaxInt)},
		{name: "SendBuffer", opt: transport.WithSendBuffer(math.MaxInt)},
		{name: "KeepAlive", opt: transport.WithKeepAlive(math.MaxInt64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := target(t, "tcp")
			if tr, err := dialOpts(t, ln, tc.opt); err == nil {
				_ = cap(tr.Events()) // what panicked
				t.Errorf("Dial with %s succeeded, want an error", tc.name)
			}
			if srv, err := transport.Listen(context.Background(), "tcp", "127.0.0.1:0", tc.opt); err == nil {
				srv.Close()
				t.Errorf("Listen with %s succeeded, want an error", tc.name)
			}
			if ep, err := transport.ListenPacket(context.Background(), "udp", "127.0.0.1:0", tc.opt); err == nil {
				ep.Close()
				t.Errorf("ListenPacket with %s succeeded, want an error", tc.name)
			}
		})
	}
}

// TestER1_OptionBoundsInclusive: the largest allowed values still work.
func TestER1_OptionBoundsInclusive(t *testing.T) {
	_, err := dialOpts(t, target(t, "tcp"),
		transport.WithEventBuffer(1<<16), transport.WithReadLimit(1<<30),
		transport.WithKeepAlive(32767*time.Second))
	if err != nil {
		t.Fatalf("Dial at the bounds: %v", err)
	}
}

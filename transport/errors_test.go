package transport_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rxnet/rxnet/transport"
)

// TestWR3_ErrInvalidLimits checks that invalid limits fail with an error
// matching ErrInvalidLimits, with one message shape, whether they reach a
// transport through SetWriteBufferLimits or WithWriteBufferLimits (Listen,
// Dial, ListenPacket), and that the message keeps the detail.
func TestWR3_ErrInvalidLimits(t *testing.T) {
	ctx := context.Background()
	const high, low = 10, 20
	const want = "transport: invalid write buffer limits: high-water mark (10) must be >= low-water mark (20) must be >= 0"
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, transport.ErrInvalidLimits) {
			t.Errorf("%s: %v; want an error matching ErrInvalidLimits", what, err)
		} else if err.Error() != want {
			t.Errorf("%s: %q; want %q", what, err, want)
		}
	}
	bad := transport.WithWriteBufferLimits(high, low)
	_, err := transport.Listen(ctx, "tcp", "127.0.0.1:0", bad)
	check("Listen", err)
	_, err = transport.ListenPacket(ctx, "udp", "127.0.0.1:0", bad)
	check("ListenPacket", err)

	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, err = transport.Dial(ctx, "tcp", srv.Addr().String(), bad)
	check("Dial", err)
	tr, err := transport.Dial(ctx, "tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Abort()
	check("SetWriteBufferLimits", tr.SetWriteBufferLimits(high, low))
	err = tr.SetWriteBufferLimits(transport.DefaultLimit, -1)
	if !errors.Is(err, transport.ErrInvalidLimits) || !strings.Contains(err.Error(), "(-4)") {
		t.Errorf("SetWriteBufferLimits(DefaultLimit, -1): %v; want ErrInvalidLimits naming the derived high-water mark -4", err)
	}
	if h, l := tr.WriteBufferLimits(); h != 65536 || l != 16384 {
		t.Errorf("limits after the rejected calls %d, %d; want the defaults 65536, 16384", h, l)
	}
}

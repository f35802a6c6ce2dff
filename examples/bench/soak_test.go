package main

import (
	"context"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rxnet/rxnet/transport"
)

// leakyMode is a soak mode for the tests only: the events echo server,
// opening a descriptor for every connection and never closing it.
const leakyMode = "leaky-events"

func init() {
	// The server child is this test binary: it finds the mode too.
	servers[leakyMode] = func(ctx context.Context, addr string) (net.Addr, error) {
		return acceptEach(ctx, addr, func(ctx context.Context, t transport.Transport) {
			if f, err := os.Open(os.DevNull); err == nil {
				leakedMu.Lock()
				leaked = append(leaked, f)
				leakedMu.Unlock()
			}
			echoEvents(ctx, t)
		})
	}
}

// leaked keeps the leaky mode's descriptors open.
var (
	leakedMu sync.Mutex
	leaked   []*os.File
)

// TestSoak: a short soak over the default servers, each in a child
// process, churns connections with every kind of ending, and finds
// nothing left behind in the servers.
func TestSoak(t *testing.T) {
	var out strings.Builder
	res, err := runSoak(soakConfig{duration: 2 * time.Second, conns: 8, seed: 1, modes: soakModes}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "seed 1,") {
		t.Errorf("the report does not give the seed:\n%s", out.String())
	}
	for _, r := range res.Servers {
		c := r.Check
		if r.Err != "" || c == nil {
			t.Errorf("%s: the server failed: %s", r.Mode, r.Err)
			continue
		}
		if r.Clients.Errors > 0 {
			t.Errorf("%s: %d client errors: %q", r.Mode, r.Clients.Errors, r.Clients.FirstErrors)
		}
		// A TLS client reset right after its handshake may end the
		// server's before it completes: a handshake failure, not a
		// transport.
		srv := c.Server
		if r.Clients.Dialled == 0 || srv.Accepted+srv.HandshakeFailures != r.Clients.Dialled || c.Watched != srv.Accepted {
			t.Errorf("%s: %d connections dialled, %d accepted, %d handshakes failed, %d watched",
				r.Mode, r.Clients.Dialled, srv.Accepted, srv.HandshakeFailures, c.Watched)
		}
		g, fds, heap := c.Leaks()
		if !c.Settled || g > 0 || fds > 0 || heap > soakHeapTolerance {
			t.Errorf("%s: left behind: settled %v, %d goroutines, %d fds, %d bytes of heap\n%s", r.Mode, c.Settled, g, fds, heap, c.Stacks)
		}
		// A closed transport the server kept reachable (its Lost came
		// before the server learned its descriptor closed) was found by
		// the soak and fixed in transport.Server.
		if c.Held > 0 {
			t.Errorf("%s: %d of %d closed transports still reachable", r.Mode, c.Held, c.Watched)
		}
	}
}

// TestSoakFindsLeaks: a server that keeps a descriptor per connection
// fails the soak, with the descriptors counted.
func TestSoakFindsLeaks(t *testing.T) {
	soakable = append(soakable, leakyMode)
	defer func() { soakable = slices.DeleteFunc(soakable, func(m string) bool { return m == leakyMode }) }()
	res, err := runSoak(soakConfig{duration: 500 * time.Millisecond, conns: 2, seed: 2, modes: []string{leakyMode}}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() {
		t.Fatal("the soak passed a server that leaks a descriptor per connection")
	}
	r := res.Servers[0]
	if _, fds, _ := r.Check.Leaks(); fds != int(r.Check.Server.Accepted) {
		t.Errorf("%d descriptors left behind after %d connections", fds, r.Check.Server.Accepted)
	}
	if !strings.Contains(verdict(r.Check), "descriptor") {
		t.Errorf("verdict %q does not name the descriptors", verdict(r.Check))
	}
}

func TestSoakConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		cfg soakConfig
		err string
	}{
		{soakConfig{duration: time.Second, conns: 4, modes: soakModes}, ""},
		{soakConfig{duration: 0, conns: 4, modes: soakModes}, "-soak must be positive"},
		{soakConfig{duration: time.Second, conns: 3, modes: soakModes}, "at least one connection per server"},
		{soakConfig{duration: time.Second, conns: 4, modes: []string{"netconn"}}, "cannot be soaked"},
	} {
		err := tc.cfg.check()
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("check(%+v) = %v, want %q", tc.cfg, err, tc.err)
		}
		if err == nil && tc.cfg.seed == 0 {
			t.Errorf("check(%+v) picked no seed", tc.cfg)
		}
	}
}

package chaos

import (
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rxnet/rxnet/internal/enginetest"
)

// TestMain runs the tests once per engine (internal/enginetest), each pass
// failing when a goroutine outlives it (LC5).
func TestMain(m *testing.M) { enginetest.Main(m) }

// ciDuration is how long the chaos run of `go test ./...` lasts: seconds,
// spread over every kind (RXNET_CHAOS_DURATION overrides it).
const ciDuration = 4 * time.Second

// TestChaos_LC1_LC2_LC5_RD1_Handoffs runs seeded random interleavings of
// ownership transfers (Detach inside DataReceived with a rest and from
// another goroutine, Attach, claims of Events and Observable), Close,
// Abort, WriteEOF, StartTLS, PauseReading/ResumeReading, stalled
// consumers and cancelled contexts, against a peer that writes the
// counter stream, half-closes, resets or stops reading, over TCP, Unix
// sockets, TLS 1.3 and a plain connection upgraded with StartTLS. Every
// iteration checks the Log's invariants (Check), leaves no goroutine and
// no descriptor behind, and ends within its timeout. It runs in a child
// process (a panic in a library goroutine kills the binary: the parent
// names the seed); a failure prints the command that replays its seed.
func TestChaos_LC1_LC2_LC5_RD1_Handoffs(t *testing.T) {
	if !inChild(t) {
		return
	}
	cfg, err := ConfigFromEnv(ciDuration)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	env := newTestEnv(t)
	ignore := goleak.IgnoreCurrent()
	res := Run(cfg, env, Hooks{
		Started: announce,
		Leaks:   func() error { return goleak.Find(ignore) },
	})
	os.Stderr.WriteString(summaryPrefix + res.Summary() + "\n")
	t.Logf("first seed %d: %s", cfg.Seed, res.Summary())
	if f := res.Failure; f != nil {
		t.Fatalf("%v\n\nreplay: %s", f, replayCommand(t.Name(), formatSeed(f.Seed, f.Kind)))
	}
}

// newTestEnv makes an Env whose socket directory is removed at the end.
func newTestEnv(t *testing.T) *Env {
	dir, err := os.MkdirTemp("", "rxchaos")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	env, err := NewEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

package transport

import (
	"bytes"
	"log"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/rxnet/rxnet/internal/poll"
)

// TestER1_UnknownEngineIsReported: a misspelt RXNET_ENGINE is said once
// on the standard logger, and the default engine runs.
func TestER1_UnknownEngineIsReported(t *testing.T) {
	var out bytes.Buffer
	log.SetOutput(&out)
	defer log.SetOutput(os.Stderr)
	badEngine = sync.Once{} // reported once per process: once per run here
	t.Setenv(engineVar, "epoll")
	if got := usePoller(); got != poll.Supported() {
		t.Errorf("usePoller() = %v with an unknown engine, want the default %v", got, poll.Supported())
	}
	usePoller()
	if n := strings.Count(out.String(), `RXNET_ENGINE="epoll"`); n != 1 {
		t.Errorf("reported %d times, want once: %q", n, out.String())
	}
	t.Setenv(engineVar, "goroutine")
	if usePoller() {
		t.Error("usePoller() = true with RXNET_ENGINE=goroutine")
	}
}

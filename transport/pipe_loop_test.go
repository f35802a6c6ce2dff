//go:build linux

package transport_test

import (
	"io"
	"os"
	"testing"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/poll"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// pipeProto is a Protocol that reports each chunk it reads and its end.
type pipeProto struct {
	adapters.BaseProtocol
	data chan string
	lost chan error
}

func newPipeProto() *pipeProto {
	return &pipeProto{data: make(chan string, 1), lost: make(chan error, 1)}
}

func (p *pipeProto) DataReceived(b []byte)    { p.data <- string(b) }
func (p *pipeProto) ConnectionLost(err error) { p.lost <- err }

// procProto is a SubprocessProtocol that reports its child's output and
// its end.
type procProto struct {
	adapters.BaseSubprocessProtocol
	data chan string
	lost chan error
}

func (p *procProto) PipeDataReceived(_ int, b []byte) { p.data <- string(b) }
func (p *procProto) ConnectionLost(err error)         { p.lost <- err }

// TestEN1_IdlePipeOnLoopHoldsNoGoroutine: on the poll engine read and
// write pipes, driven by the adapter or consumed by a channel, and an
// adapted subprocess's pipes, are read by loops: once idle (data went
// through each), they hold no goroutine of rxnet's. The subprocess keeps
// the goroutine that reaps its child (cmd.Wait). A child's pipes share
// one loop, so that its protocol's callbacks never wait for each other
// across loops.
func TestEN1_IdlePipeOnLoopHoldsNoGoroutine(t *testing.T) {
	if !poll.Supported() || os.Getenv("RXNET_ENGINE") == "goroutine" {
		t.Skip("the poll engine does not run here")
	}
	others := offLoopGoroutines()

	r1, w1 := osPipe(t) // a read pipe, adapted
	rt, rp, err := adapters.ConnectReadPipe(r1, newPipeProto)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { rt.Abort(); <-rp.lost }()
	w1.Write([]byte("ping"))
	if got := <-rp.data; got != "ping" {
		t.Fatalf("read pipe got %q", got)
	}

	r2, w2 := osPipe(t) // a write pipe, adapted
	wt, wp, err := adapters.ConnectWritePipe(w2, newPipeProto)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { wt.Abort(); <-wp.lost }()
	wt.Write([]byte("pong"))
	if b := make([]byte, 4); func() error { _, err := io.ReadFull(r2, b); return err }() != nil || string(b) != "pong" {
		t.Fatalf("the write pipe's reader got %q", b)
	}

	r3, w3 := osPipe(t) // a read pipe, consumed by a channel
	ct := readPipe(t, r3)
	ch := ct.Events()
	nextEvent(t, ch)
	w3.Write([]byte("ping"))
	if e := nextEvent(t, ch); e.Kind != stream.Data || string(e.Data) != "ping" {
		t.Fatalf("channel consumer got %v", e)
	}

	sp, pp, err := adapters.RunProcess(t.Context(), childCmd(t, "echo"), func() *procProto {
		return &procProto{data: make(chan string, 1), lost: make(chan error, 1)}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { sp.Close(); <-pp.lost }()
	stdin, _ := sp.Stdin()
	stdin.Write([]byte("echo"))
	if got := <-pp.data; got != "echo" {
		t.Fatalf("the child echoed %q", got)
	}

	idle := map[string]transport.BaseTransport{"read pipe": rt, "write pipe": wt, "channel's read pipe": ct}
	for fd, name := range []string{"stdin", "stdout", "stderr"} {
		idle[name], _ = sp.PipeTransport(fd)
	}
	for name, tr := range idle {
		if transport.LoopID(tr) == 0 {
			t.Errorf("the %s is not on a loop", name)
		}
	}
	if in, out, err := transport.LoopID(idle["stdin"]), transport.LoopID(idle["stdout"]), transport.LoopID(idle["stderr"]); in != out || out != err {
		t.Errorf("the child's pipes are on loops %d, %d and %d, want one", in, out, err)
	}
	for id, g := range offLoopGoroutines() {
		if _, ok := others[id]; !ok {
			t.Errorf("a goroutine of an idle pipe:\n%s", g)
		}
	}
}

//go:build unix

package transport_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/rxnet/rxnet/stream"
)

// TestLC4_SubprocessAbortKillsAndEnds: Abort on a running child kills
// it, IsClosing turns true, Lost(nil) comes last and the channel closes,
// even when the consumer reads nothing after Abort but Lost's room is
// made; a second Abort and a Close after it change nothing.
func TestLC4_SubprocessAbortKillsAndEnds(t *testing.T) {
	sp := spExec(t, childCmd(t, "echo"))
	ch := sp.Events()
	if e := nextEvent(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
	sp.Abort()
	sp.Abort()
	if !sp.IsClosing() || sp.Close() != nil {
		t.Fatal("IsClosing false, or Close failed, after Abort")
	}
	evs := spCollect(t, ch)
	if last := evs[len(evs)-1]; last.Kind != stream.Lost || last.Err != nil {
		t.Fatalf("last event %v after Abort, want Lost(<nil>); all: %v", last, evs)
	}
	if code := spWaitCode(t, sp); code != -9 {
		t.Fatalf("ReturnCode %d after Abort, want -9", code)
	}
}

// TestLC5_CommandContextKillsAndEnds: a cmd from exec.CommandContext is
// killed when its context ends, and os/exec's goroutine ends with the
// reaping (goleak checks).
func TestLC5_CommandContextKillsAndEnds(t *testing.T) {
	base := childCmd(t, "echo")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, base.Path, base.Args[1:]...)
	cmd.Env = base.Env
	sp := spExec(t, cmd)
	ch := sp.Events()
	if e := nextEvent(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
	cancel()
	spCollect(t, ch)
	if code := spWaitCode(t, sp); code != -9 {
		t.Fatalf("ReturnCode %d after the context ended, want -9", code)
	}
}

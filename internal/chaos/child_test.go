package chaos

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/childtest"
)

// The chaos tests run in a child process: a panic in one of rxnet's own
// goroutines (a send on a closed channel, say) kills the whole test
// binary, and the parent must still say which seed did it. The child is
// this test binary re-executed for one test, with childtest's
// environment; it announces every seed on its output before running it.

// childBehaviour is childtest.Env's value in a chaos child.
const childBehaviour = "chaos"

// Lines a child writes for its parent.
const (
	startedPrefix = "chaos: started seed "
	summaryPrefix = "chaos: iterations "
)

// childBackstop is how much longer than its own test timeout the parent
// lets a child run before killing it.
const childBackstop = 30 * time.Second

// inChild reports whether this process is the chaos child: the caller
// then runs the test's body. In the parent it runs the calling test in a
// child and reports how the child ended.
func inChild(t *testing.T) bool {
	if os.Getenv(childtest.Env) == childBehaviour {
		return true
	}
	runChild(t)
	return false
}

// runChild re-executes the test binary for t alone and fails t if the
// child failed or crashed, with the seed it was running.
func runChild(t *testing.T) {
	// The child's own test timeout ends a stuck child with every goroutine's
	// stack before the parent's ends the parent; without one (-timeout 0,
	// for a long run) the iterations' timeouts still bound every wait.
	ctx, cancel := context.WithCancel(context.Background())
	timeout := time.Duration(0)
	if d, ok := t.Deadline(); ok {
		timeout = max(time.Until(d)-childBackstop-5*time.Second, time.Second)
		ctx, cancel = context.WithTimeout(context.Background(), timeout+childBackstop)
	}
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, "-test.run=^"+t.Name()+"$", "-test.count=1",
		fmt.Sprintf("-test.timeout=%v", timeout.Round(time.Second)))
	cmd.Env = childtest.Environ(childBehaviour)
	setDeathSignal(cmd)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	out := readChild(r)
	r.Close()
	err = cmd.Wait()
	if out.summary != "" {
		t.Logf("iterations: %s", out.summary)
	}
	if err == nil {
		return
	}
	var what string
	switch {
	case ctx.Err() != nil:
		what = "was killed after its deadline (stuck)"
	case out.crashed:
		what = "crashed (a panic, or a fatal error, in a goroutine)"
	default:
		what = "failed"
	}
	msg := fmt.Sprintf("the chaos child %s: %v", what, err)
	if out.seed != "" {
		msg += fmt.Sprintf("\nwhile running %s", out.seed)
		if !strings.Contains(out.text(), "replay: ") {
			msg += "\nreplay: " + replayCommand(t.Name(), out.seed)
		}
	}
	t.Fatalf("%s\n--- child output ---\n%s", msg, out.text())
}

// childOutput is what the parent keeps of a child's output.
type childOutput struct {
	seed    string // the last seed announced ("<seed> <kind>")
	crashed bool
	summary string
	head    strings.Builder // the first lines, up to headMax
	tail    []string        // the last lines
	dropped int
}

const (
	headMax = 48 << 10
	tailMax = 200
)

// readChild reads a child's output to its end.
func readChild(r io.Reader) *childOutput {
	out := &childOutput{}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			out.add(strings.TrimSuffix(line, "\n"))
		}
		if err != nil {
			return out
		}
	}
}

func (o *childOutput) add(line string) {
	switch {
	case strings.HasPrefix(line, startedPrefix):
		o.seed = strings.TrimPrefix(line, startedPrefix)
		return
	case strings.HasPrefix(line, summaryPrefix):
		o.summary = strings.TrimPrefix(line, summaryPrefix)
		return
	case strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") || strings.Contains(line, "WARNING: DATA RACE"):
		o.crashed = true
	}
	if o.head.Len() < headMax {
		o.head.WriteString(line + "\n")
		return
	}
	if o.tail = append(o.tail, line); len(o.tail) > tailMax {
		o.tail = o.tail[1:]
		o.dropped++
	}
}

func (o *childOutput) text() string {
	s := o.head.String()
	if o.dropped > 0 {
		s += fmt.Sprintf("[... %d lines ...]\n", o.dropped)
	}
	return s + strings.Join(o.tail, "\n")
}

// replayCommand is the command that replays seedKind ("<seed> <kind>")
// of test: the seed for the seeded suite, the whole test for a shape.
func replayCommand(test, seedKind string) string {
	seed, kind, _ := strings.Cut(seedKind, " ")
	if kind == shapeKind {
		return fmt.Sprintf("go test -race -count=1 -run '^%s$' ./internal/chaos/", test)
	}
	return fmt.Sprintf("%s=%s go test -race -count=1 -run '^%s$' ./internal/chaos/", EnvSeed, seed, test)
}

// announce tells the parent that seed starts.
func announce(seed uint64, kind string) {
	fmt.Fprintf(os.Stderr, "%s%s\n", startedPrefix, formatSeed(seed, kind))
}

// formatSeed is how a seed and its kind are named.
func formatSeed(seed uint64, kind string) string { return fmt.Sprintf("%d %s", seed, kind) }

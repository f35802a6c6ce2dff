package gate

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

var errLost = errors.New("connection lost")

// isClosed reports whether c is closed, without waiting.
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// waiter runs g.Wait(ctx) on its own goroutine.
type waiter struct {
	done chan struct{}
	err  error
}

func startWait(ctx context.Context, g *Gate) *waiter {
	w := &waiter{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.err = g.Wait(ctx)
	}()
	return w
}

func (w *waiter) returned() bool { return isClosed(w.done) }

func TestWR5_WaitOpenReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		if err := g.Wait(context.Background()); err != nil {
			t.Errorf("Wait on a new gate = %v; want nil", err)
		}
		// Even a done context: an open gate does not wait, so it succeeds.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := g.Wait(ctx); err != nil {
			t.Errorf("Wait(cancelled ctx) on an open gate = %v; want nil", err)
		}
		g.Shut()
		g.Open()
		if err := g.Wait(context.Background()); err != nil {
			t.Errorf("Wait after Shut, Open = %v; want nil", err)
		}
	})
}

func TestWR5_WaitWhileShutReturnsOnOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		g.Shut()
		w := startWait(context.Background(), g)
		synctest.Wait()
		if w.returned() {
			t.Fatalf("Wait on a shut gate returned %v", w.err)
		}
		g.Shut() // a second Shut changes nothing
		synctest.Wait()
		if w.returned() {
			t.Fatalf("Wait returned %v after a second Shut", w.err)
		}
		g.Open()
		synctest.Wait()
		if !w.returned() {
			t.Fatal("Wait did not return after Open")
		}
		if w.err != nil {
			t.Errorf("Wait = %v after Open; want nil", w.err)
		}
	})
}

func TestWR5_OneOpenReleasesEveryWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		g.Shut()
		ws := make([]*waiter, 50)
		for i := range ws {
			ws[i] = startWait(context.Background(), g)
		}
		synctest.Wait()
		for i, w := range ws {
			if w.returned() {
				t.Fatalf("waiter %d returned %v before Open", i, w.err)
			}
		}
		g.Open()
		synctest.Wait()
		for i, w := range ws {
			if !w.returned() {
				t.Fatalf("waiter %d still waits after Open", i)
			}
			if w.err != nil {
				t.Errorf("waiter %d: %v; want nil", i, w.err)
			}
		}
	})
}

func TestWR5_CancelReturnsCtxErrAndLeavesOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		g.Shut()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cancelled := startWait(ctx, g)
		others := []*waiter{startWait(context.Background(), g), startWait(context.Background(), g)}
		synctest.Wait()
		cancel()
		synctest.Wait()
		if !cancelled.returned() {
			t.Fatal("Wait did not return when its ctx was cancelled")
		}
		if !errors.Is(cancelled.err, context.Canceled) {
			t.Errorf("Wait = %v; want context.Canceled", cancelled.err)
		}
		for i, w := range others {
			if w.returned() {
				t.Fatalf("waiter %d returned %v when another waiter's ctx was cancelled", i, w.err)
			}
		}
		if isClosed(g.C()) {
			t.Error("a cancelled Wait opened the gate")
		}
		g.Open()
		synctest.Wait()
		for i, w := range others {
			if !w.returned() || w.err != nil {
				t.Errorf("waiter %d after Open: returned %v, err %v; want true, nil", i, w.returned(), w.err)
			}
		}
	})
}

func TestWR5_DeadlineReturnsDeadlineExceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		g.Shut()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := g.Wait(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait = %v; want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("Wait returned after %v; want 5s", d)
		}
	})
}

func TestWR5_EndWakesWaitersWithErr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		g.Shut()
		ws := []*waiter{startWait(context.Background(), g), startWait(context.Background(), g)}
		synctest.Wait()
		g.End(errLost)
		synctest.Wait()
		for i, w := range ws {
			if !w.returned() {
				t.Fatalf("waiter %d still waits after End", i)
			}
			if w.err != errLost {
				t.Errorf("waiter %d: %v; want %v", i, w.err, errLost)
			}
		}
		// Later Waits return the error at once, even on a done context.
		if err := g.Wait(context.Background()); err != errLost {
			t.Errorf("Wait after End = %v; want %v", err, errLost)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := g.Wait(ctx); err != errLost {
			t.Errorf("Wait(cancelled ctx) after End = %v; want %v", err, errLost)
		}
	})
}

func TestWR5_EndOnOpenGate(t *testing.T) {
	g := New()
	g.End(errLost)
	if err := g.Wait(context.Background()); err != errLost {
		t.Errorf("Wait after End on an open gate = %v; want %v", err, errLost)
	}
}

func TestWR5_FirstEndCountsAndStaysOpen(t *testing.T) {
	g := New()
	g.Shut()
	g.End(errLost)
	g.End(errors.New("second"))
	if err := g.Wait(context.Background()); err != errLost {
		t.Errorf("Wait = %v; want the first End's %v", err, errLost)
	}
	g.Shut()
	if !isClosed(g.C()) {
		t.Error("Shut shut an ended gate")
	}
	g.Open()
	if err := g.Wait(context.Background()); err != errLost {
		t.Errorf("Wait after Open on an ended gate = %v; want %v", err, errLost)
	}
}

func TestWR4_CClosedExactlyWhenOpen(t *testing.T) {
	g := New()
	if !isClosed(g.C()) {
		t.Fatal("C() of a new gate is not closed")
	}
	g.Shut()
	shut := g.C()
	if isClosed(shut) {
		t.Fatal("C() is closed while shut")
	}
	if g.C() != shut {
		t.Error("C() changed while the gate stayed shut")
	}
	g.Open()
	if !isClosed(shut) {
		t.Error("Open did not close the channel C() returned while shut")
	}
	if !isClosed(g.C()) {
		t.Error("C() is not closed after Open")
	}
	g.Open() // a second Open changes nothing and does not panic
	g.Shut()
	again := g.C()
	if isClosed(again) {
		t.Fatal("C() is closed after a second Shut")
	}
	if again == shut {
		t.Error("the second Shut reused the first, closed, channel")
	}
	g.End(errLost)
	if !isClosed(again) || !isClosed(g.C()) {
		t.Error("End did not close C()")
	}
}

func TestWR5_ShutOpenRaceWithWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := New()
		for range 100 {
			g.Shut()
			w := startWait(context.Background(), g)
			g.Open()
			synctest.Wait()
			if !w.returned() || w.err != nil {
				t.Fatalf("Wait racing Open: returned %v, err %v", w.returned(), w.err)
			}
		}
	})
}

package adapters_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// lostPanicker echoes, and panics in ConnectionLost.
type lostPanicker struct{ echoProto }

func (p *lostPanicker) ConnectionLost(error) { panic(panicValue{"lost"}) }

// reported returns an error handler and the channel it sends to.
func reported() (transport.Option, <-chan error) {
	errs := make(chan error, 4)
	return transport.WithErrorHandler(func(err error) { errs <- err }), errs
}

// waitReported waits for the next reported error, failing after failAfter.
func waitReported(t *testing.T, errs <-chan error) error {
	t.Helper()
	select {
	case err := <-errs:
		return err
	case <-time.After(failAfter):
		t.Fatal("no error reached the error handler")
		return nil
	}
}

// checkPanic fails unless err holds a *PanicError with value v and a stack.
func checkPanic(t *testing.T, err error, v any) {
	t.Helper()
	var pe *adapters.PanicError
	if !errors.As(err, &pe) || pe.Value != v || len(pe.Stack) == 0 {
		t.Fatalf("reported %v; want a *PanicError with value %v and a stack", err, v)
	}
}

// TestER3_ConnectionLostPanicReported: a panic in ConnectionLost, which
// has nothing left to close, reaches the server's WithErrorHandler as a
// *PanicError with the value and the stack; the server keeps serving.
func TestER3_ConnectionLostPanicReported(t *testing.T) {
	opt, errs := reported()
	srv := startServe(t, func() *lostPanicker { return &lostPanicker{} }, opt)
	a := dialPeer(t, srv.Addr().String(), 0)
	a.Write([]byte("hi"))
	if got := string(readExactly(t, a, 2)); got != "hi" {
		t.Fatalf("echo %q, want %q", got, "hi")
	}
	a.Close()
	err := waitReported(t, errs)
	checkPanic(t, err, panicValue{"lost"})
	if want := "adapters: in ConnectionLost: "; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("reported %q; want it to start with %q", err, want)
	}
	b := dialPeer(t, srv.Addr().String(), 0)
	b.Write([]byte("still"))
	if got := string(readExactly(t, b, 5)); got != "still" {
		t.Fatalf("echo %q after the panic, want %q", got, "still")
	}
}

// TestER3_FactoryFailureReported: a protocol factory that panics or
// returns nil aborts that connection, and its error reaches the server's
// WithErrorHandler.
func TestER3_FactoryFailureReported(t *testing.T) {
	opt, errs := reported()
	var calls atomic.Int32
	srv := startServe(t, func() adapters.Protocol {
		switch calls.Add(1) {
		case 1:
			panic(panicValue{"factory"})
		case 2:
			return nil
		}
		return &echoProto{}
	}, opt)
	dialPeer(t, srv.Addr().String(), 0)
	checkPanic(t, waitReported(t, errs), panicValue{"factory"})
	dialPeer(t, srv.Addr().String(), 0)
	if err := waitReported(t, errs); !errors.Is(err, adapters.ErrNilProtocol) {
		t.Fatalf("reported %v; want ErrNilProtocol", err)
	}
}

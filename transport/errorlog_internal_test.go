package transport

import (
	"bytes"
	"context"
	"errors"
	"log"
	"net"
	"strings"
	"sync/atomic"
	"testing"
)

// hiding wraps a listener so that its first accepted connection hides its
// socket (a plain net.Conn): making it a transport fails, as a socket
// option failing at accept time would, and the accept loop must report
// that and go on.
type hiding struct {
	net.Listener
	n atomic.Int32
}

func (l *hiding) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err == nil && l.n.Add(1) == 1 {
		return struct{ net.Conn }{nc}, nil
	}
	return nc, err
}

// TestER3_FailedAcceptWrapReported: an accepted connection that cannot be
// made a transport reaches WithErrorHandler, naming the peer, and the
// server accepts the next one.
func TestER3_FailedAcceptWrapReported(t *testing.T) {
	ctx := context.Background()
	errs := make(chan error, 1)
	s, err := Listen(ctx, "tcp", "127.0.0.1:0", WithStartServing(false),
		WithErrorHandler(func(err error) { errs <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.ln = &hiding{Listener: s.ln} // before the accept goroutine starts
	s.StartServing()
	first, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	tr, err := s.Accept(ctx)
	if err != nil {
		t.Fatalf("Accept after the dropped connection: %v", err)
	}
	defer tr.Abort()
	select { // the accept loop reported the first before accepting the second
	case err = <-errs:
	default:
		t.Fatal("the dropped connection was not reported")
	}
	if !strings.Contains(err.Error(), "accepted connection from "+first.LocalAddr().String()) ||
		!strings.Contains(err.Error(), "not a stream socket") {
		t.Errorf("reported %q; want the peer's address and the cause", err)
	}
	if got := tr.RemoteAddr().String(); got != second.LocalAddr().String() {
		t.Errorf("accepted %s; want the second connection, %s", got, second.LocalAddr())
	}
}

// TestER3_NoHandlerLogs: without WithErrorHandler the error goes to the
// standard logger, as net/http's nil ErrorLog does; a panicking handler
// is contained.
func TestER3_NoHandlerLogs(t *testing.T) {
	var buf bytes.Buffer
	defer log.SetOutput(log.Writer())
	log.SetOutput(&buf)
	reportError(nil, errors.New("boom"))
	if !strings.Contains(buf.String(), "rxnet: boom") {
		t.Errorf("standard logger got %q; want it to hold %q", buf.String(), "rxnet: boom")
	}
	reportError(func(error) { panic("handler") }, errors.New("x")) // must not panic
}

package adapters_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// TestER2_ConnectReturnsConnectionMadePanic: a ConnectionMade that panics
// makes Connect fail with the *PanicError, and the protocol's
// ConnectionLost gets the same error.
func TestER2_ConnectReturnsConnectionMadePanic(t *testing.T) {
	srv := startServe(t, func() *adapters.BaseProtocol { return &adapters.BaseProtocol{} })
	var r *recorder
	tr, _, err := adapters.Connect(context.Background(), "tcp", srv.Addr().String(), func() *recorder {
		r = newRecorder()
		r.onMade = func(transport.Transport) { panic("boom in ConnectionMade") }
		return r
	})
	var pe *adapters.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom in ConnectionMade" {
		t.Fatalf("Connect error = %v; want the *PanicError of ConnectionMade", err)
	}
	if tr != nil {
		t.Errorf("Connect returned a transport (%v) with its error", tr)
	}
	if lost := lostErr(r.waitLost(t)); !errors.As(lost, &pe) {
		t.Errorf("ConnectionLost(%v); want the *PanicError", lost)
	}
}

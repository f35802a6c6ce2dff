package transport_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// fragile's ConnectionLost panics: nobody calls it who could be told.
type fragile struct{ adapters.BaseProtocol }

var _ adapters.Protocol = (*fragile)(nil)

func (fragile) ConnectionLost(error) { panic("cleanup failed") }

// ExampleWithErrorHandler collects the errors no caller sees, as
// http.Server's ErrorLog does: here a panic in a Protocol's
// ConnectionLost, which ends nothing else (the connection was already
// over).
func ExampleWithErrorHandler() {
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	reported := make(chan error, 1) // one connection: one report at most
	t, _, err := adapters.Connect(ctx, "tcp", srv.Addr().String(),
		func() *fragile { return &fragile{} },
		transport.WithErrorHandler(func(err error) { reported <- err }))
	if err != nil {
		log.Fatal(err)
	}
	t.Close()
	var pe *transport.PanicError
	if errors.As(<-reported, &pe) {
		fmt.Println("reported panic:", pe.Value)
	}
	// Output:
	// reported panic: cleanup failed
}

package adapters

import (
	"errors"
	"fmt"
)

// PanicError is ConnectionLost's error when a callback panicked (DESIGN
// ER2): the adapter recovers, aborts that one transport with it, and the
// server keeps serving the others.
type PanicError struct {
	// Value is what the callback panicked with.
	Value any
	// Stack is the panicking goroutine's stack.
	Stack []byte
}

// Error returns "adapters: callback panicked: " and the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("adapters: callback panicked: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// ErrNotAdaptable is returned for a transport the adapter cannot drive
// (one rxnet did not make) or whose events already have a consumer.
var ErrNotAdaptable = errors.New("adapters: transport cannot be adapted (not rxnet's, or its events already have a consumer)")

// ErrNilProtocol is returned when a protocol factory returns nil.
var ErrNilProtocol = errors.New("adapters: protocol factory returned nil")

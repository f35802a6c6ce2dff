package transport

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// PanicError is the error of a connection whose user callback panicked
// (DESIGN ER2): a tls.Config callback during a handshake or a
// handshake-failure hook here, a Protocol callback in package adapters
// (adapters.PanicError is this type). The panic is recovered, that one
// connection fails with it, and a server keeps serving the others.
type PanicError struct {
	// Value is what the callback panicked with.
	Value any
	// Stack is the panicking goroutine's stack.
	Stack []byte
}

// Error returns "callback panicked: " and the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("callback panicked: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// newPanicError returns the PanicError of a recovered value, with the
// stack of the goroutine that recovered it (the panicking one).
func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// isPanic reports whether err holds a *PanicError.
func isPanic(err error) bool {
	var pe *PanicError
	return errors.As(err, &pe)
}

package poll

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// errNilHandler is returned by Register when the handler is nil.
var errNilHandler = errors.New("poll: Register with a nil Handler")

// errBadFD is returned by Register for a negative descriptor.
var errBadFD = errors.New("poll: Register with a negative descriptor")

// PanicError is the error a Handler's OnDropped gets (and Conn.Err
// returns) when one of its callbacks, or a task posted on its Conn,
// panicked. The transports turn it into their own PanicError.
type PanicError struct {
	// Value is what the callback panicked with.
	Value any
	// Stack is the panicking goroutine's stack.
	Stack []byte
}

// Error returns "poll: callback panicked: " and the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("poll: callback panicked: %v", e.Value) }

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

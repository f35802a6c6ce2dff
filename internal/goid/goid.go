// Package goid tells goroutines apart. The Protocol adapter needs it in
// one rare case: when a write pauses the transport while a callback runs,
// PauseWriting must be called at once if the write was made by that
// callback's goroutine (asyncio's order) and later otherwise.
package goid

import (
	"runtime"
)

// Get returns the calling goroutine's id. It costs about a microsecond:
// call it only on rare paths.
func Get() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	// The first line reads "goroutine 123 [running]:".
	const prefix = len("goroutine ")
	var id uint64
	for i := prefix; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		id = id*10 + uint64(b[i]-'0')
	}
	return id
}

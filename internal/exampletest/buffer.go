// Package exampletest holds what the examples' end-to-end tests share.
package exampletest

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer collects what an example prints from several goroutines (its
// server's and client's sides): a bytes.Buffer safe for concurrent use.
// When Lines is not nil, every complete line is also sent to it, so a
// test can wait for a line instead of sleeping.
type Buffer struct {
	Lines chan string

	mu      sync.Mutex
	b       bytes.Buffer
	partial string
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Lines != nil {
		s.partial += string(p)
		for {
			line, rest, ok := strings.Cut(s.partial, "\n")
			if !ok {
				break
			}
			s.Lines <- line
			s.partial = rest
		}
	}
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

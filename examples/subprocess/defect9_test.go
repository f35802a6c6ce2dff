package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// endless reads left bytes of 'a', no newline, counting what was read.
type endless struct{ left, read int }

func (r *endless) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.left)
	copy(p, bytes.Repeat([]byte{'a'}, n))
	r.left -= n
	r.read += n
	return n, nil
}

// TestDefect9_SubprocessChildLineBounded: the child cuts off a parent
// that sends a line without end (here 64 MiB without a newline) after
// one line's buffer, instead of reading it all into memory.
func TestDefect9_SubprocessChildLineBounded(t *testing.T) {
	in := &endless{left: 64 << 20}
	err := upperCopy(io.Discard, in)
	if err == nil || !strings.Contains(err.Error(), "a line over") {
		t.Errorf("upperCopy of a 64 MiB line: %v, want a line-too-long error", err)
	}
	if in.read > 64<<10 {
		t.Errorf("the child read %d bytes of one line before giving up", in.read)
	}
}

// TestDefect9_SubprocessFirstLineBounded: the parent keeps at most
// maxFirst bytes of the child's first line, however long it is.
func TestDefect9_SubprocessFirstLineBounded(t *testing.T) {
	var c counts
	chunk := bytes.Repeat([]byte{'A'}, 64<<10)
	for range 16 {
		c = c.add(chunk)
	}
	if len(c.first) != maxFirst || c.bytes != 16*len(chunk) || c.lines != 0 {
		t.Errorf("after 1 MiB without a newline: first line %d bytes (want %d), %d bytes, %d lines",
			len(c.first), maxFirst, c.bytes, c.lines)
	}
	c = counts{}.add([]byte("one\ntwo\n"))
	if string(c.first) != "one\n" || c.lines != 2 {
		t.Errorf("first %q, %d lines; want \"one\\n\", 2", c.first, c.lines)
	}
}

package stream

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The split functions under each Framer. They have bufio.SplitFunc's
// contract and hold no state, so any chunking of the input gives the same
// tokens; bounded wraps each one with the frame size limit.

// scanLines is bufio.ScanLines: a line is what comes before '\n', less one
// trailing '\r'; at EOF the final, unterminated line is a token too.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, dropCR(data[:i]), nil
	}
	if atEOF && len(data) > 0 {
		return len(data), dropCR(data), nil
	}
	return 0, nil, nil
}

func dropCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// scanDelimited splits on sep, dropping it. At EOF, bytes after the last
// separator are a truncated frame.
func scanDelimited(sep []byte) bufio.SplitFunc {
	return func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.Index(data, sep); i >= 0 {
			return i + len(sep), data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return 0, nil, fmt.Errorf("%w: %d bytes without a separator", ErrTruncatedFrame, len(data))
		}
		return 0, nil, nil
	}
}

// scanPrefixed splits frames that start with their length: width bytes in
// order, counting the payload only. A prefix over max fails at once,
// before the payload is buffered. At EOF, an incomplete prefix or payload
// is a truncated frame.
func scanPrefixed(width int, order binary.ByteOrder, max int) bufio.SplitFunc {
	return func(data []byte, atEOF bool) (int, []byte, error) {
		if len(data) < width {
			if atEOF && len(data) > 0 {
				return 0, nil, fmt.Errorf("%w: %d of a %d-byte length prefix", ErrTruncatedFrame, len(data), width)
			}
			return 0, nil, nil
		}
		n := readPrefix(data, width, order)
		if n > uint64(max) {
			return 0, nil, fmt.Errorf("%w: length prefix %d, max %d", ErrFrameTooLarge, n, max)
		}
		end := width + int(n)
		if len(data) < end {
			if atEOF {
				return 0, nil, fmt.Errorf("%w: %d of %d payload bytes", ErrTruncatedFrame, len(data)-width, n)
			}
			return 0, nil, nil
		}
		return end, data[width:end], nil
	}
}

func readPrefix(b []byte, width int, order binary.ByteOrder) uint64 {
	switch width {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(order.Uint16(b))
	case 4:
		return uint64(order.Uint32(b))
	}
	return order.Uint64(b)
}

func appendPrefix(dst []byte, width int, order binary.ByteOrder, n int) []byte {
	var b [8]byte
	switch width {
	case 1:
		b[0] = byte(n)
	case 2:
		order.PutUint16(b[:], uint16(n))
	case 4:
		order.PutUint32(b[:], uint32(n))
	default:
		order.PutUint64(b[:], uint64(n))
	}
	return append(dst, b[:width]...)
}

// The encoders: each refuses a frame that would not read back as itself.

func appendLine(dst, frame []byte) ([]byte, error) {
	if bytes.IndexByte(frame, '\n') >= 0 || len(dropCR(frame)) != len(frame) {
		return dst, fmt.Errorf("%w: a line holds '\\n' or ends in '\\r'", ErrBadFrame)
	}
	return append(append(dst, frame...), '\n'), nil
}

func appendDelimited(dst, frame, sep []byte) ([]byte, error) {
	// The first sep in frame+sep must be the appended one: check frame,
	// then the seam, where sep may start inside frame.
	tail := frame[max(0, len(frame)-len(sep)+1):]
	var b [64]byte
	seam := append(append(b[:0], tail...), sep...)
	if bytes.Contains(frame, sep) || bytes.Index(seam, sep) != len(tail) {
		return dst, fmt.Errorf("%w: it holds its separator", ErrBadFrame)
	}
	return append(append(dst, frame...), sep...), nil
}

// prefixRange is the largest length a width-byte prefix holds.
func prefixRange(width int) uint64 {
	if width >= 8 {
		return math.MaxUint64
	}
	return 1<<(8*width) - 1
}

// maxEmptyTokens is how many tokens in a row a split function may return
// without advancing before it is an error (bufio.Scanner panics there).
const maxEmptyTokens = 100

// errNoProgress reports a split function that returns tokens without
// advancing, over and over.
var errNoProgress = errors.New("stream: split function returns tokens without advancing")

// bounded wraps split with the frame size limit: a token longer than max,
// or limit bytes of data with no token in them, is ErrFrameTooLarge. It
// also turns split's contract violations into errors, as bufio.Scanner
// does, and never panics.
func bounded(split bufio.SplitFunc, max, limit int) bufio.SplitFunc {
	return func(data []byte, atEOF bool) (advance int, token []byte, err error) {
		advance, token, err = split(data, atEOF)
		switch {
		case advance < 0:
			return 0, nil, bufio.ErrNegativeAdvance
		case advance > len(data):
			return 0, nil, bufio.ErrAdvanceTooFar
		case len(token) > max:
			return 0, nil, fmt.Errorf("%w: %d bytes, max %d", ErrFrameTooLarge, len(token), max)
		case advance == 0 && token == nil && len(data) >= limit &&
			(err == nil || errors.Is(err, ErrTruncatedFrame)):
			return 0, nil, fmt.Errorf("%w: %d bytes without a complete frame, max %d", ErrFrameTooLarge, len(data), max)
		}
		return advance, token, err
	}
}

// failing is the split function of a Framer made with bad arguments.
func failing(err error) bufio.SplitFunc {
	return func([]byte, bool) (int, []byte, error) { return 0, nil, err }
}

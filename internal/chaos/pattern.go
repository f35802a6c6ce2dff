package chaos

import "encoding/binary"

// The counter stream: byte off of a stream is byte off%4 (big-endian) of
// the 32-bit counter off/4. Any chunk of it at least 7 bytes long says
// where it comes from, so a checker can tell a repeated chunk from a lost
// one, not only that the bytes are wrong.

// patternByte returns the counter stream's byte at off.
func patternByte(off int64) byte {
	return byte(uint32(off>>2) >> (8 * (3 - off&3)))
}

// Pattern returns n bytes of the counter stream from offset off.
func Pattern(off int64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = patternByte(off + int64(i))
	}
	return b
}

// Mismatch returns the index of the first byte of b that differs from the
// counter stream at offset off, or -1 when b is the stream there.
func Mismatch(b []byte, off int64) int {
	i := 0
	for ; i < len(b) && (off+int64(i))&3 != 0; i++ { // up to a counter boundary
		if b[i] != patternByte(off+int64(i)) {
			return i
		}
	}
	for ; i+4 <= len(b); i += 4 { // whole counters
		if binary.BigEndian.Uint32(b[i:]) != uint32((off+int64(i))>>2) {
			break
		}
	}
	for ; i < len(b); i++ {
		if b[i] != patternByte(off+int64(i)) {
			return i
		}
	}
	return -1
}

// Locate returns the offset in the counter stream that b was taken from;
// ok is false when b is too short to tell (under 7 bytes) or is not a
// piece of the stream.
func Locate(b []byte) (off int64, ok bool) {
	for a := range 4 {
		if a+4 > len(b) {
			break
		}
		off = int64(binary.BigEndian.Uint32(b[a:]))*4 - int64(a)
		if off >= 0 && len(b) >= 7 && Mismatch(b, off) < 0 {
			return off, true
		}
	}
	return 0, false
}

// Package writebuf is a transport's user-space write buffer: the bytes the
// kernel has not taken yet, as a queue of chunks ready for writev. It holds
// copies, never the caller's slices, and is not safe for concurrent use:
// the transport serialises access.
package writebuf

// chunkSize is the size of the chunks small writes are coalesced into.
const chunkSize = 16 << 10

// MaxViews bounds the number of chunks one writev takes (IOV_MAX is 1024).
const MaxViews = 1024

// Buffer is a queue of byte chunks. The zero value is an empty buffer.
type Buffer struct {
	chunks [][]byte
	head   int // bytes of chunks[0] already written
	size   int
}

// Len returns the number of buffered bytes.
func (b *Buffer) Len() int { return b.size }

// Append copies p to the end of the buffer.
func (b *Buffer) Append(p []byte) {
	if len(p) == 0 {
		return
	}
	b.size += len(p)
	if n := len(b.chunks); n > 0 {
		last := b.chunks[n-1]
		if free := cap(last) - len(last); free > 0 {
			k := min(free, len(p))
			b.chunks[n-1] = append(last, p[:k]...)
			p = p[k:]
		}
	}
	for len(p) > 0 {
		c := make([]byte, 0, max(chunkSize, min(len(p), 1<<20)))
		k := min(cap(c), len(p))
		b.chunks = append(b.chunks, append(c, p[:k]...))
		p = p[k:]
	}
}

// Views appends to dst the unwritten bytes as at most MaxViews slices, for
// one writev. The slices stay valid after later Appends and after Consume
// of other bytes; the caller must not modify them.
func (b *Buffer) Views(dst [][]byte) [][]byte {
	for i, c := range b.chunks {
		if i == MaxViews {
			break
		}
		if i == 0 {
			c = c[b.head:]
		}
		dst = append(dst, c)
	}
	return dst
}

// Consume drops the first n bytes, which the kernel has taken.
func (b *Buffer) Consume(n int) {
	b.size -= n
	for n > 0 {
		rest := len(b.chunks[0]) - b.head
		if n < rest {
			b.head += n
			return
		}
		n -= rest
		b.chunks[0] = nil
		b.chunks = b.chunks[1:]
		b.head = 0
	}
	if len(b.chunks) == 0 {
		b.chunks = nil // let the backing array go
	}
}

// Reset drops everything (an abort).
func (b *Buffer) Reset() { *b = Buffer{} }

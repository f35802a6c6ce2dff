package bufpool

import (
	"os"
	"sync"
	"sync/atomic"
)

// The size classes, smallest first. A request larger than the largest
// class gets an exact allocation that is never pooled.
var classes = [...]int{512, 4 << 10, BulkSize, MaxSize}

// MaxSize is the largest class: the largest pooled buffer.
const MaxSize = 64 << 10

// BulkSize is the class below the largest: more bytes than this need a
// MaxSize buffer, so a read of them is handed over in the buffer it went
// into rather than copied (Fit).
const BulkSize = 16 << 10

// keepBytes bounds each class's free list: at most this many bytes of
// free buffers survive a collection; more go to the class's sync.Pool.
const keepBytes = 1 << 20

// keepBytesMax is the largest class's bound: a 100 KiB stream keeps a
// few of them in flight per connection.
const keepBytesMax = 4 << 20

// PoisonByte fills a buffer given back in poison mode.
const PoisonByte = 0xDB

// Buf is one pooled buffer. Its owner reads into Bytes and gives it back
// with Put, or hands it to a consumer through Ref.
type Buf struct {
	b []byte
	// gen counts hand-outs and returns: odd while the buffer is out.
	gen   atomic.Uint64
	class int8 // index in classes; -1: not pooled
}

// Ref is one hand-out of a Buf: its Release gives the buffer back, once.
// The zero Ref releases nothing.
type Ref struct {
	buf *Buf
	gen uint64
}

type class struct {
	mu       sync.Mutex
	free     []*Buf
	max      int
	overflow sync.Pool
}

var (
	pools  [len(classes)]class
	poison atomic.Bool
)

func init() {
	for i, size := range classes {
		keep := keepBytes
		if size == MaxSize {
			keep = keepBytesMax
		}
		pools[i].max = keep / size
	}
	poison.Store(os.Getenv("RXNET_POISON") == "1")
}

// SetPoison turns poison mode on or off (tests); it reports the previous
// setting. Any goroutine may call it.
func SetPoison(on bool) bool { return poison.Swap(on) }

// classFor returns the index of the smallest class that holds n bytes,
// or -1.
func classFor(n int) int {
	for i, size := range classes {
		if n <= size {
			return i
		}
	}
	return -1
}

// Get returns a buffer of at least n bytes (len(Bytes()) is the class's
// size, at least n). Any goroutine may call it.
func Get(n int) *Buf {
	i := classFor(n)
	if i < 0 {
		b := &Buf{b: make([]byte, n), class: -1}
		b.gen.Store(1)
		return b
	}
	p := &pools[i]
	var b *Buf
	p.mu.Lock()
	if k := len(p.free); k > 0 {
		b = p.free[k-1]
		p.free[k-1] = nil
		p.free = p.free[:k-1]
	}
	p.mu.Unlock()
	if b == nil {
		if v := p.overflow.Get(); v != nil {
			b = v.(*Buf)
		} else {
			b = &Buf{b: make([]byte, classes[i]), class: int8(i)}
		}
	}
	b.gen.Add(1) // out: odd
	return b
}

// Copy returns a buffer holding a copy of p, and that copy (capacity
// cut to its length).
func Copy(p []byte) (*Buf, []byte) {
	b := Get(len(p))
	n := copy(b.b, p)
	return b, b.b[:n:n]
}

// Fit returns the n bytes read into b in a buffer of n's class: b itself
// when it is of that class already, else a copy in a smaller buffer, b
// going back to the pool. So a consumer holding a small read does not
// hold a large buffer.
func (b *Buf) Fit(n int) (*Buf, []byte) {
	if i := classFor(n); i < 0 || int(b.class) == i {
		return b, b.b[:n:n]
	}
	c, p := Copy(b.b[:n])
	b.Put()
	return c, p
}

// Bytes returns the whole buffer.
func (b *Buf) Bytes() []byte { return b.b }

// Ref returns the current hand-out of b, for a consumer to Release.
func (b *Buf) Ref() Ref { return Ref{buf: b, gen: b.gen.Load()} }

// Put gives b back. Only its owner calls it, once per Get; a buffer
// handed out through Ref is given back by Ref.Release instead.
func (b *Buf) Put() {
	b.Ref().Release()
}

// Release gives the buffer back if this hand-out still holds it: the
// first Release of any copy of a Ref does, every later one does nothing.
// Any goroutine may call it. It reports whether it gave the buffer back.
func (r Ref) Release() bool {
	b := r.buf
	if b == nil || r.gen&1 == 0 || !b.gen.CompareAndSwap(r.gen, r.gen+1) {
		return false
	}
	if poison.Load() {
		for i := range b.b {
			b.b[i] = PoisonByte
		}
		return true // never reused: a late reader sees the poison
	}
	if b.class < 0 {
		return true
	}
	p := &pools[b.class]
	p.mu.Lock()
	if len(p.free) < p.max {
		p.free = append(p.free, b)
		p.mu.Unlock()
		return true
	}
	p.mu.Unlock()
	p.overflow.Put(b)
	return true
}

// Pooled reports whether r holds a buffer (it may have been released).
func (r Ref) Pooled() bool { return r.buf != nil }

// EventWithRef is set by package stream's init to its
// func(stream.Event, Ref) stream.Event, which attaches a hand-out to an
// event: transport and adapters make pooled events through it, since
// bufpool cannot name stream's types and stream exports no constructor
// for them.
var EventWithRef any

// FreeBytes returns the bytes of the buffers the free lists hold now (not
// the sync.Pool overflow, which a collection empties): live heap that is
// rxnet's bounded reserve, not a leak (the bench's soak subtracts it).
// Any goroutine may call it.
func FreeBytes() int {
	total := 0
	for i := range pools {
		p := &pools[i]
		p.mu.Lock()
		total += len(p.free) * classes[i]
		p.mu.Unlock()
	}
	return total
}

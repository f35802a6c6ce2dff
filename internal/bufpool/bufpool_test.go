package bufpool

import (
	"bytes"
	"testing"
)

// out reports whether b is handed out (its generation is odd).
func out(b *Buf) bool { return b.gen.Load()&1 == 1 }

// withPoison runs the test with poison mode set to on, restoring it after.
func withPoison(t *testing.T, on bool) {
	t.Helper()
	was := SetPoison(on)
	t.Cleanup(func() { SetPoison(was) })
}

// TestRD5_ClassSizes: Get returns the smallest class that holds n, and
// an exact, unpooled buffer above the largest class.
func TestRD5_ClassSizes(t *testing.T) {
	tests := []struct {
		n, size int
		pooled  bool
	}{
		{n: 0, size: 512, pooled: true},
		{n: 1, size: 512, pooled: true},
		{n: 512, size: 512, pooled: true},
		{n: 513, size: 4 << 10, pooled: true},
		{n: 4 << 10, size: 4 << 10, pooled: true},
		{n: 4<<10 + 1, size: 16 << 10, pooled: true},
		{n: 16<<10 + 1, size: 64 << 10, pooled: true},
		{n: MaxSize, size: MaxSize, pooled: true},
		{n: MaxSize + 1, size: MaxSize + 1, pooled: false},
	}
	for _, tt := range tests {
		b := Get(tt.n)
		if got := len(b.Bytes()); got != tt.size {
			t.Errorf("Get(%d): %d bytes; want %d", tt.n, got, tt.size)
		}
		if got := b.class >= 0; got != tt.pooled {
			t.Errorf("Get(%d): pooled %v; want %v", tt.n, got, tt.pooled)
		}
		if !out(b) {
			t.Errorf("Get(%d): the buffer is not marked out", tt.n)
		}
		b.Put()
		if out(b) {
			t.Errorf("Get(%d): the buffer is still out after Put", tt.n)
		}
	}
}

// TestRD5_RefReleasesOnce: the first Release of any copy of a Ref gives
// the buffer back; every later one, of that Ref or a copy, does nothing,
// even once the buffer went to a new hand-out. The zero Ref releases
// nothing.
func TestRD5_RefReleasesOnce(t *testing.T) {
	withPoison(t, false)
	b := Get(100)
	r := b.Ref()
	c := r // a copy, as a copied Event holds
	if !r.Pooled() || !c.Pooled() {
		t.Fatal("a buffer's Ref does not report Pooled")
	}
	if !c.Release() {
		t.Fatal("the first Release (of a copy) did not give the buffer back")
	}
	if r.Release() || c.Release() {
		t.Fatal("a second Release gave the buffer back again")
	}
	// Hand the same buffer out again (the free list is last in, first out).
	b2 := Get(100)
	if b2 != b {
		t.Skip("the pool did not hand the same buffer out again (another test holds its free list)")
	}
	if r.Release() || c.Release() {
		t.Fatal("a stale Release gave back a later hand-out")
	}
	if !out(b2) {
		t.Fatal("a stale Release ended a later hand-out")
	}
	b2.Put()
	var zero Ref
	if zero.Pooled() || zero.Release() {
		t.Fatal("the zero Ref is pooled or releases something")
	}
}

// TestRD5_CopyAndFit: Copy holds a copy, capacity cut; Fit keeps a
// buffer of n's class and moves a smaller read into a buffer of its own
// class, giving the large one back.
func TestRD5_CopyAndFit(t *testing.T) {
	withPoison(t, false)
	src := []byte("hello, pool")
	b, p := Copy(src)
	if !bytes.Equal(p, src) || cap(p) != len(src) {
		t.Fatalf("Copy: %q cap %d; want %q cap %d", p, cap(p), src, len(src))
	}
	src[0] = 'J'
	if p[0] != 'h' {
		t.Fatal("Copy shares memory with its argument")
	}
	b.Put()

	big := Get(16 << 10)
	copy(big.Bytes(), "0123456789")
	same, p := big.Fit(10 << 10)
	if same != big || len(p) != 10<<10 || cap(p) != 10<<10 {
		t.Fatalf("Fit within the class: another buffer, or %d bytes cap %d", len(p), cap(p))
	}
	small, p := big.Fit(10)
	if small == big || string(p) != "0123456789" || len(small.Bytes()) != 512 {
		t.Fatalf("Fit(10) of a 16 KiB buffer: same buffer %v, %q, class size %d", small == big, p, len(small.Bytes()))
	}
	if out(big) {
		t.Fatal("Fit into a smaller class kept the large buffer out")
	}
	if !out(small) {
		t.Fatal("Fit's new buffer is not marked out")
	}
	small.Put()

	huge := Get(MaxSize + 10)
	if got, _ := huge.Fit(MaxSize + 5); got != huge {
		t.Fatal("Fit of an unpooled buffer above every class moved it")
	}
}

// TestRD5_FreeListBounded: a class keeps at most its bound of free
// buffers; the rest go to its sync.Pool.
func TestRD5_FreeListBounded(t *testing.T) {
	withPoison(t, false)
	p := &pools[0]
	if want := keepBytes / classes[0]; p.max != want {
		t.Fatalf("class 512 keeps %d buffers; want %d", p.max, want)
	}
	if want := keepBytesMax / MaxSize; pools[len(pools)-1].max != want {
		t.Fatalf("class 64 KiB keeps %d buffers; want %d", pools[len(pools)-1].max, want)
	}
	bufs := make([]*Buf, p.max+10)
	for i := range bufs {
		bufs[i] = Get(1)
	}
	p.mu.Lock()
	left := len(p.free)
	p.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d free buffers left after taking %d", left, len(bufs))
	}
	for _, b := range bufs {
		b.Put()
	}
	p.mu.Lock()
	kept := len(p.free)
	p.mu.Unlock()
	if kept != p.max {
		t.Fatalf("the free list holds %d buffers after %d Puts; want its bound %d", kept, len(bufs), p.max)
	}
}

// TestRD5_PoisonFillsAndNeverReuses: in poison mode a released buffer is
// filled with PoisonByte and never handed out again.
func TestRD5_PoisonFillsAndNeverReuses(t *testing.T) {
	withPoison(t, true)
	b, p := Copy([]byte("secret"))
	whole := b.Bytes()
	if !b.Ref().Release() {
		t.Fatal("Release did not give the buffer back")
	}
	for i, c := range whole {
		if c != PoisonByte {
			t.Fatalf("byte %d of a released buffer is %#x; want PoisonByte", i, c)
		}
	}
	if string(p) == "secret" {
		t.Fatal("the copy's bytes survived the Release")
	}
	for range 100 {
		if c := Get(1); c == b {
			t.Fatal("a poisoned buffer was handed out again")
		}
	}
	if was := SetPoison(false); !was {
		t.Fatal("SetPoison did not report the previous setting")
	}
}

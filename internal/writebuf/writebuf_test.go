package writebuf

import (
	"bytes"
	"testing"
)

// contents joins the buffer's views.
func contents(b *Buffer) []byte {
	var out []byte
	for _, v := range b.Views(nil) {
		out = append(out, v...)
	}
	return out
}

// pattern returns n bytes that differ from their neighbours, starting at
// seed.
func pattern(n, seed int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte((i + seed) % 251)
	}
	return p
}

func TestZeroValueIsEmpty(t *testing.T) {
	var b Buffer
	if b.Len() != 0 {
		t.Errorf("Len() = %d; want 0", b.Len())
	}
	if v := b.Views(nil); len(v) != 0 {
		t.Errorf("Views() = %d slices; want 0", len(v))
	}
	b.Consume(0)
	if b.Len() != 0 {
		t.Errorf("Len() after Consume(0) = %d", b.Len())
	}
}

func TestAppendCopies(t *testing.T) {
	for _, n := range []int{1, 100, chunkSize, 3*chunkSize + 7} {
		var b Buffer
		p := pattern(n, 0)
		want := bytes.Clone(p)
		b.Append(p)
		for i := range p {
			p[i] = 0xEE
		}
		if got := contents(&b); !bytes.Equal(got, want) {
			t.Errorf("n=%d: changing p after Append changed the buffer", n)
		}
		// Appending more must not write through to p either.
		b.Append(pattern(10, 1))
		for i := range p {
			if p[i] != 0xEE {
				t.Fatalf("n=%d: a later Append wrote into the caller's slice at %d", n, i)
			}
		}
	}
}

func TestAppendKeepsSpareCapacityOfCaller(t *testing.T) {
	// A caller's slice with spare capacity must not be used as a chunk.
	var b Buffer
	p := make([]byte, 4, 64)
	copy(p, "abcd")
	b.Append(p)
	b.Append([]byte("efgh"))
	if got := p[:8]; !bytes.Equal(got[4:], make([]byte, 4)) {
		t.Errorf("Append wrote into the caller's spare capacity: %q", got)
	}
	if got := contents(&b); string(got) != "abcdefgh" {
		t.Errorf("contents %q; want %q", got, "abcdefgh")
	}
}

func TestAppendEmptyDoesNothing(t *testing.T) {
	var b Buffer
	b.Append(nil)
	b.Append([]byte{})
	if b.Len() != 0 || len(b.Views(nil)) != 0 {
		t.Errorf("empty Appends: Len %d, %d views", b.Len(), len(b.Views(nil)))
	}
}

func TestViewsAndConsumeAcrossChunks(t *testing.T) {
	var b Buffer
	var model []byte
	// Small then large writes: the first chunk is filled, then new ones.
	for i, n := range []int{100, 20000, 5, chunkSize, 70000, 1} {
		p := pattern(n, i)
		b.Append(p)
		model = append(model, p...)
	}
	if b.Len() != len(model) {
		t.Fatalf("Len() = %d; want %d", b.Len(), len(model))
	}
	if v := b.Views(nil); len(v) < 3 {
		t.Fatalf("%d views; the test needs several chunks", len(v))
	}
	// Consume in steps that land inside chunks, on boundaries and across
	// several chunks at once.
	views := b.Views(nil)
	steps := []int{1, 98, 1, len(views[0]) - 100, len(views[1]) - 1, 1, 30000, 2*chunkSize + 3}
	for _, n := range steps {
		b.Consume(n)
		model = model[n:]
		if b.Len() != len(model) {
			t.Fatalf("after Consume(%d): Len() = %d; want %d", n, b.Len(), len(model))
		}
		if got := contents(&b); !bytes.Equal(got, model) {
			t.Fatalf("after Consume(%d): contents differ from the model", n)
		}
		for i, v := range b.Views(nil) {
			if len(v) == 0 {
				t.Fatalf("after Consume(%d): view %d is empty", n, i)
			}
		}
	}
	b.Consume(len(model))
	if b.Len() != 0 {
		t.Errorf("Len() = %d after consuming everything; want 0", b.Len())
	}
	if v := b.Views(nil); len(v) != 0 {
		t.Errorf("%d views after consuming everything; want 0", len(v))
	}
	// And the buffer works again.
	b.Append([]byte("again"))
	if got := contents(&b); string(got) != "again" {
		t.Errorf("contents %q after reuse; want %q", got, "again")
	}
}

func TestViewsAppendToDst(t *testing.T) {
	var b Buffer
	b.Append([]byte("xyz"))
	dst := [][]byte{[]byte("first")}
	got := b.Views(dst)
	if len(got) != 2 || string(got[0]) != "first" || string(got[1]) != "xyz" {
		t.Errorf("Views(dst) = %q; want [first xyz]", got)
	}
}

func TestViewsStayValid(t *testing.T) {
	var b Buffer
	b.Append([]byte("hello "))
	views := b.Views(nil)
	b.Append([]byte("world")) // fills the same chunk's spare capacity
	b.Consume(2)
	if string(views[0]) != "hello " {
		t.Errorf("an earlier view changed to %q after Append and Consume", views[0])
	}
	if got := contents(&b); string(got) != "llo world" {
		t.Errorf("contents %q; want %q", got, "llo world")
	}
}

func TestMaxViews(t *testing.T) {
	var b Buffer
	chunk := pattern(chunkSize, 0)
	const chunks = MaxViews + 3
	for range chunks {
		b.Append(chunk)
	}
	if b.Len() != chunks*chunkSize {
		t.Fatalf("Len() = %d; want %d", b.Len(), chunks*chunkSize)
	}
	views := b.Views(nil)
	if len(views) != MaxViews {
		t.Fatalf("Views() = %d slices; want MaxViews (%d)", len(views), MaxViews)
	}
	total := 0
	for _, v := range views {
		total += len(v)
	}
	b.Consume(total)
	if got := len(b.Views(nil)); got != chunks-MaxViews {
		t.Errorf("Views() after consuming the first batch = %d slices; want %d", got, chunks-MaxViews)
	}
	if b.Len() != (chunks-MaxViews)*chunkSize {
		t.Errorf("Len() = %d; want %d", b.Len(), (chunks-MaxViews)*chunkSize)
	}
	b.Consume(b.Len())
	if b.Len() != 0 {
		t.Errorf("Len() = %d; want 0", b.Len())
	}
}

func TestReset(t *testing.T) {
	var b Buffer
	b.Append(pattern(3*chunkSize, 0))
	b.Consume(10)
	b.Reset()
	if b.Len() != 0 || len(b.Views(nil)) != 0 {
		t.Fatalf("after Reset: Len %d, %d views; want 0, 0", b.Len(), len(b.Views(nil)))
	}
	b.Append([]byte("x"))
	if got := contents(&b); string(got) != "x" {
		t.Errorf("contents %q after Reset and Append; want %q", got, "x")
	}
}

// FuzzBuffer runs random Appends and Consumes against a bytes.Buffer.
// Each operation takes 3 bytes: an opcode and a 16-bit amount.
func FuzzBuffer(f *testing.F) {
	f.Add([]byte{0, 100, 0, 0, 0x20, 0x4e, 1, 50, 0, 1, 0xff, 0xff})
	f.Add([]byte{0, 0, 0x40, 1, 0, 0x40, 0, 1, 0, 2, 0, 0})
	f.Add([]byte{0, 0xff, 0xff, 0, 0xff, 0xff, 1, 0x34, 0x12, 3, 0, 0, 1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var b Buffer
		var model bytes.Buffer
		seed := 0
		for len(ops) >= 3 {
			op, n := ops[0]%4, int(ops[1])|int(ops[2])<<8
			ops = ops[3:]
			switch op {
			case 0, 2: // append n bytes
				p := pattern(n, seed)
				seed++
				b.Append(p)
				model.Write(p)
				clear(p)
			case 1: // consume up to n bytes
				n = min(n, model.Len())
				b.Consume(n)
				model.Next(n)
			case 3:
				b.Reset()
				model.Reset()
			}
			if b.Len() != model.Len() {
				t.Fatalf("Len() = %d; model %d", b.Len(), model.Len())
			}
			views := b.Views(nil)
			if len(views) > MaxViews {
				t.Fatalf("%d views; at most %d", len(views), MaxViews)
			}
			var got []byte
			for _, v := range views {
				if len(v) == 0 {
					t.Fatal("an empty view")
				}
				got = append(got, v...)
			}
			if !bytes.Equal(got, model.Bytes()) {
				t.Fatalf("contents (%d bytes) differ from the model (%d bytes)", len(got), model.Len())
			}
		}
		b.Consume(b.Len())
		if b.Len() != 0 || len(b.Views(nil)) != 0 {
			t.Fatalf("after consuming everything: Len %d, %d views", b.Len(), len(b.Views(nil)))
		}
	})
}

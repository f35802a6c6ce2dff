package goid

import "testing"

func TestSameGoroutineSameID(t *testing.T) {
	a, b := Get(), Get()
	if a == 0 {
		t.Fatal("Get() = 0")
	}
	if a != b {
		t.Errorf("two calls on one goroutine: %d, %d", a, b)
	}
}

func TestGoroutinesDiffer(t *testing.T) {
	const n = 20
	ids := make(chan uint64, n)
	release := make(chan struct{})
	for range n {
		go func() {
			ids <- Get()
			<-release // keep every goroutine alive until all ids are taken
		}()
	}
	seen := map[uint64]bool{Get(): true}
	for range n {
		id := <-ids
		if id == 0 {
			t.Error("Get() = 0 on a goroutine")
		}
		if seen[id] {
			t.Errorf("id %d given to two live goroutines", id)
		}
		seen[id] = true
	}
	close(release)
}

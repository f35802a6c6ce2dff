package queue

import (
	"errors"
	"testing"

	"github.com/rxnet/rxnet/stream"
)

// TestLC1_ReservedQueueRefusesOthers: a reserved queue does not start,
// refuses every other consumer, and starts for ClaimReserved only once.
func TestLC1_ReservedQueueRefusesOthers(t *testing.T) {
	started := 0
	q := New(func() { started++ }, nil)
	if !q.Reserve() || q.Reserve() {
		t.Fatal("Reserve: want true once, then false")
	}
	if started != 0 {
		t.Fatal("Reserve started the producer")
	}
	if q.Claim(nil) {
		t.Fatal("Claim of a reserved queue succeeded")
	}
	e := <-q.Events()
	if e.Kind != stream.Lost || !errors.Is(e.Err, stream.ErrAlreadySubscribed) {
		t.Fatalf("Events of a reserved queue: %v, want Lost(ErrAlreadySubscribed)", e)
	}
	prepared := false
	if !q.ClaimReserved(func() { prepared = true }) || !prepared || started != 1 {
		t.Fatalf("ClaimReserved: prepared %v, started %d", prepared, started)
	}
	if q.ClaimReserved(nil) || started != 1 {
		t.Fatal("a second ClaimReserved succeeded")
	}
	if New(nil, nil).ClaimReserved(nil) {
		t.Fatal("ClaimReserved of an unreserved queue succeeded")
	}
}

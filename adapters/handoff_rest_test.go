package adapters_test

import (
	"bytes"
	"testing"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
)

// TestRD1_DetachRestComesFirst: the bytes after the header in the chunk
// that DataReceived handles, given to Detach as rest, are the stream's
// first Data (a copy: the adapter reuses the chunk), before anything read
// later, after the stream's own Made.
func TestRD1_DetachRestComesFirst(t *testing.T) {
	r := newRecorder()
	detached := make(chan *adapters.Detached, 1)
	r.onData = func(b []byte) {
		_, rest, ok := bytes.Cut(b, []byte("\n"))
		if !ok {
			t.Errorf("no header line in the first chunk %q", b)
			return
		}
		d, err := adapters.Detach(r.transport(), rest)
		if err != nil {
			t.Errorf("Detach: %v", err)
		}
		detached <- d
		clear(b) // the adapter may reuse the chunk: the stream has its own copy
	}
	_, peer := connectOne(t, r)
	if _, err := peer.Write([]byte("HEADER\nbody-1")); err != nil {
		t.Fatal(err)
	}
	d := hoRecv(t, detached)
	ch := d.Events()
	if e := hoRecv(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
	if e := hoRecv(t, ch); e.Kind != stream.Data || string(e.Data) != "body-1" {
		t.Fatalf("second event %v %q, want Data \"body-1\"", e, e.Data)
	}
	if _, err := peer.Write([]byte("body-2")); err != nil {
		t.Fatal(err)
	}
	if e := hoRecv(t, ch); e.Kind != stream.Data || string(e.Data) != "body-2" {
		t.Fatalf("third event %v %q, want Data \"body-2\"", e, e.Data)
	}
	d.Transport().Close()
	for e := range ch {
		if e.Kind == stream.Data {
			t.Fatalf("Data %q after the close", e.Data)
		}
	}
}

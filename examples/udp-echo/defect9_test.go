package main

import (
	"context"
	"testing"
)

// TestDefect9_UDPEchoHonoursPauseWriting: the server stops reading while
// its writes are paused, and reads again once they resume, so that a
// full send buffer does not grow its queue of datagrams. The socket's
// send buffer cannot be filled on demand over loopback, so the test makes
// the adapter's calls itself, with no datagram in flight.
func TestDefect9_UDPEchoHonoursPauseWriting(t *testing.T) {
	out = &syncBuffer{}
	tr, p, err := serve(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer closeServer(tr, p)
	if !tr.IsReading() {
		t.Fatal("the server does not read before any pause")
	}
	p.PauseWriting()
	if tr.IsReading() {
		t.Fatal("the server still reads while its writes are paused")
	}
	if n := tr.Stats().ReadPauses; n != 1 {
		t.Errorf("Stats counts %d read pauses, want 1", n)
	}
	p.ResumeWriting()
	if !tr.IsReading() {
		t.Error("the server does not read again once its writes resume")
	}
}

package adapters_test

import (
	"context"
	"crypto/tls"
	"testing"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// TestTL1_SF2_StartTLSOnDetachedStream: a detached stream's consumer takes
// "STARTTLS\n" and upgrades. The peer's ClientHello, read meanwhile, went
// into the detached stream, where the handshake never found it: StartTLS
// waited until its context ended. What the stream holds that its consumer
// has not taken is now handshake input, as with a transport's own
// channel, and the decrypted data goes on on the same stream.
func TestTL1_SF2_StartTLSOnDetachedStream(t *testing.T) {
	serverCfg, clientCfg := tlsConfigs(t)
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	forwarded := make(chan stream.Event, 16)
	t.Cleanup(adapters.SetForwardHook(func(e stream.Event) {
		select {
		case forwarded <- stream.Event{Kind: e.Kind}:
		default:
		}
	}))
	r := newRecorder()
	detached := hoDetachAfter(t, r, 1)
	tr, peer := connectOne(t, r)
	if _, err := peer.Write([]byte("HELLO\n")); err != nil {
		t.Fatal(err)
	}
	d := hoRecv(t, detached)
	ch := d.Events()
	if e := hoRecv(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
	if _, err := peer.Write([]byte("STARTTLS\n")); err != nil {
		t.Fatal(err)
	}
	if e := hoRecv(t, ch); e.Kind != stream.Data || string(e.Data) != "STARTTLS\n" {
		t.Fatalf("got %v %q, want Data STARTTLS", e, e.Data)
	}
	for len(forwarded) > 0 {
		<-forwarded
	}
	tc := tls.Client(peer, named(clientCfg))
	handshake := make(chan error, 1)
	go func() { handshake <- tc.HandshakeContext(ctx) }()
	if e := hoRecv(t, forwarded); e.Kind != stream.Data {
		t.Fatalf("forwarded %v, want the ClientHello's Data", e)
	}
	if err := transport.StartTLS(ctx, tr, serverCfg, transport.WithServerSide()); err != nil {
		t.Fatalf("StartTLS with the ClientHello in the detached stream: %v", err)
	}
	if err := waitErr(t, handshake, "the peer's handshake"); err != nil {
		t.Fatalf("the peer's handshake: %v", err)
	}
	const secret = "secret over TLS"
	if _, err := tc.Write([]byte(secret)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for len(got) < len(secret) {
		e := hoRecv(t, ch)
		if e.Kind != stream.Data {
			t.Fatalf("got %v, want the decrypted Data", e)
		}
		got = append(got, e.Data...)
	}
	if string(got) != secret {
		t.Fatalf("the detached stream got %q, want %q", got, secret)
	}
}

package transport_test

import (
	"crypto/tls"
	"testing"

	"github.com/rxnet/rxnet/stream"
)

// TestX3_SF2_ConnectionStateAfterStartTLS checks that ConnectionState is
// not ok before StartTLS nor while its handshake runs (seen from the
// client config's VerifyConnection, which the handshake calls), and
// reports the upgraded state once StartTLS returns, and after Lost.
func TestX3_SF2_ConnectionStateAfterStartTLS(t *testing.T) {
	_, server, client := tlsCerts(t)
	client.ServerName = "localhost"
	p := dialedPair(t, "tcp")
	tr := p.Transport
	if st, ok := tr.ConnectionState(); ok || st.HandshakeComplete {
		t.Errorf("before StartTLS: ConnectionState() = %+v, %v; want not ok", st, ok)
	}
	during := make(chan bool, 1)
	client.VerifyConnection = func(tls.ConnectionState) error {
		_, ok := tr.ConnectionState()
		during <- ok
		return nil
	}
	tc, peerDone := tlsPeerHandshake(p.Peer, server, true)
	if err := tlsStart(tr, client); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if err := tlsWait(t, "peer handshake", peerDone); err != nil {
		t.Fatalf("peer handshake: %v", err)
	}
	if <-during {
		t.Errorf("during the StartTLS handshake: ConnectionState() ok, want not ok")
	}
	ch := tr.Events()
	tlsMade(t, ch)
	check := func(when string) {
		t.Helper()
		st, ok := tr.ConnectionState()
		want := tc.ConnectionState()
		if !ok || !st.HandshakeComplete || st.Version != want.Version || st.CipherSuite != want.CipherSuite || st.ServerName != "localhost" {
			t.Errorf("%s: ConnectionState() = %v %x %x %q, %v; want the upgraded state (%x %x localhost)",
				when, st.HandshakeComplete, st.Version, st.CipherSuite, st.ServerName, ok, want.Version, want.CipherSuite)
		}
	}
	check("after StartTLS")
	tc.Close()
	for _, e := range tlsUntilLost(t, ch) {
		if e.Kind == stream.Lost && e.Err != nil {
			t.Errorf("Lost(%v), want Lost(nil)", e.Err)
		}
	}
	check("after Lost")
}

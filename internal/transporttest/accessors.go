package transporttest

import (
	"crypto/tls"
	"testing"

	"github.com/rxnet/rxnet/transport"
)

var accessorTests = []test{
	{"X1_X2_LocalRemoteAddr", testLocalRemoteAddr},
	{"X3_ConnectionState", testConnectionState},
}

// testLocalRemoteAddr checks LocalAddr and RemoteAddr against the peer's
// view of the connection and against ExtraInfo, open and after Lost.
func testLocalRemoteAddr(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	tr := p.Transport
	check := func(when string) {
		t.Helper()
		if got, want := addrString(tr.LocalAddr()), addrString(p.Peer.RemoteAddr()); got != want {
			t.Errorf("%s: LocalAddr() = %q, want the peer's RemoteAddr %q", when, got, want)
		}
		if got, want := addrString(tr.RemoteAddr()), addrString(p.Peer.LocalAddr()); got != want {
			t.Errorf("%s: RemoteAddr() = %q, want the peer's LocalAddr %q", when, got, want)
		}
		if tr.LocalAddr() == nil || tr.LocalAddr().Network() != p.Peer.LocalAddr().Network() {
			t.Errorf("%s: LocalAddr() = %#v, want a %s address", when, tr.LocalAddr(), p.Peer.LocalAddr().Network())
		}
		if v, _ := tr.ExtraInfo(transport.InfoSockname); v != any(tr.LocalAddr()) {
			t.Errorf("%s: LocalAddr() = %v, not ExtraInfo(InfoSockname) %v", when, tr.LocalAddr(), v)
		}
		if v, _ := tr.ExtraInfo(transport.InfoPeername); v != any(tr.RemoteAddr()) {
			t.Errorf("%s: RemoteAddr() = %v, not ExtraInfo(InfoPeername) %v", when, tr.RemoteAddr(), v)
		}
	}
	check("open")
	tr.Close()
	answerClose(t, p)
	expectLost(t, ch)
	check("after Lost")
}

// testConnectionState checks that ConnectionState is not ok on a plain
// transport and, over TLS, is the state the peer negotiated, the same as
// ExtraInfo(InfoSSLObject); open and after Lost.
func testConnectionState(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	tr := p.Transport
	check := func(when string) {
		t.Helper()
		st, ok := tr.ConnectionState()
		tc := p.tlsPeer()
		if tc == nil {
			if ok || st.HandshakeComplete {
				t.Errorf("%s: ConnectionState() on a plain transport = %+v, %v; want the zero state, false", when, st, ok)
			}
			return
		}
		want := tc.ConnectionState()
		if !ok || !st.HandshakeComplete || st.Version != want.Version || st.CipherSuite != want.CipherSuite {
			t.Errorf("%s: ConnectionState() = version %x, suite %x, complete %v, %v; want %x, %x, true, true",
				when, st.Version, st.CipherSuite, st.HandshakeComplete, ok, want.Version, want.CipherSuite)
		}
		if v, _ := tr.ExtraInfo(transport.InfoSSLObject); v == nil || v.(tls.ConnectionState).Version != st.Version {
			t.Errorf("%s: ExtraInfo(InfoSSLObject) = %v, not ConnectionState's", when, v)
		}
	}
	check("open")
	tr.Close()
	answerClose(t, p)
	expectLost(t, ch)
	check("after Lost")
}

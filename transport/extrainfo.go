package transport

import (
	"net"
	"os"
	"syscall"
)

// The keys ExtraInfo knows, asyncio's get_extra_info names. The typed
// accessors (LocalAddr, RemoteAddr, ConnectionState) say the same in Go;
// the keys are for code ported from asyncio.
const (
	// InfoPeername is the remote net.Addr of a socket transport (absent
	// on an unconnected datagram endpoint): RemoteAddr.
	InfoPeername = "peername"
	// InfoSockname is the local net.Addr of a socket transport: LocalAddr.
	InfoSockname = "sockname"
	// InfoSocket is a socket transport's syscall.RawConn, for getsockopt
	// and setsockopt through Control (reading or writing through it
	// bypasses the transport: don't).
	InfoSocket = "socket"
	// InfoPeercert is the peer's leaf *x509.Certificate on a TLS
	// transport, when it sent one.
	InfoPeercert = "peercert"
	// InfoCipher is a TLS transport's CipherInfo.
	InfoCipher = "cipher"
	// InfoCompression is always nil on a TLS transport: TLS compression
	// is not supported.
	InfoCompression = "compression"
	// InfoSSLContext is the *tls.Config a TLS transport was made with.
	InfoSSLContext = "sslcontext"
	// InfoSSLObject is a TLS transport's tls.ConnectionState:
	// ConnectionState.
	InfoSSLObject = "ssl_object"
	// InfoPipe is a pipe transport's *os.File.
	InfoPipe = "pipe"
	// InfoSubprocess is a subprocess transport's *exec.Cmd (asyncio's
	// Popen).
	InfoSubprocess = "subprocess"
)

// extraInfo is what ExtraInfo returns, recorded when the transport is made
// so that it survives the transport (asyncio's get_extra_info).
type extraInfo struct {
	peer, local net.Addr
	raw         syscall.RawConn
	pipe        *os.File
}

func newExtraInfo(nc socket) extraInfo {
	raw, _ := nc.SyscallConn()
	return extraInfo{peer: nc.RemoteAddr(), local: nc.LocalAddr(), raw: raw}
}

// get returns the value of InfoPeername, InfoSockname, InfoSocket or
// InfoPipe.
func (x extraInfo) get(name string) (any, bool) {
	switch name {
	case InfoPeername:
		return x.peer, x.peer != nil
	case InfoSockname:
		return x.local, x.local != nil
	case InfoSocket:
		return x.raw, x.raw != nil
	case InfoPipe:
		return x.pipe, x.pipe != nil
	}
	return nil, false
}

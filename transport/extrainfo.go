package transport

import (
	"net"
	"os"
	"syscall"
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

// get returns the value of a key:
//   - "peername": the remote net.Addr;
//   - "sockname": the local net.Addr;
//   - "socket": the socket's syscall.RawConn, for getsockopt and
//     setsockopt through Control (reading or writing through it bypasses
//     the transport: don't);
//   - "pipe": a pipe transport's *os.File.
func (x extraInfo) get(name string) (any, bool) {
	switch name {
	case "peername":
		return x.peer, x.peer != nil
	case "sockname":
		return x.local, x.local != nil
	case "socket":
		return x.raw, x.raw != nil
	case "pipe":
		return x.pipe, x.pipe != nil
	}
	return nil, false
}

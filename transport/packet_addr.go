//go:build unix

package transport

import (
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

// The conversions between net.Addr and the kernel's socket addresses for
// a datagram endpoint, whose socket family is fixed.

// addrPair is a sender's socket address and its net.Addr, remembered so
// that a run of datagrams from one sender (and the replies to it) convert
// nothing.
type addrPair struct {
	sa   unix.Sockaddr
	addr net.Addr
}

// sockaddrFamily returns the family of the socket behind rc.
func sockaddrFamily(sk socket) (int, error) {
	rc, err := sk.SyscallConn()
	if err != nil {
		return 0, err
	}
	var sa unix.Sockaddr
	var serr error
	if err := rc.Control(func(fd uintptr) { sa, serr = unix.Getsockname(int(fd)) }); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, serr
	}
	switch sa.(type) {
	case *unix.SockaddrInet4:
		return unix.AF_INET, nil
	case *unix.SockaddrInet6:
		return unix.AF_INET6, nil
	case *unix.SockaddrUnix:
		return unix.AF_UNIX, nil
	}
	return 0, fmt.Errorf("transport: unsupported socket address %T", sa)
}

// sameSockaddr reports whether a and b are the same IP address and port.
func sameSockaddr(a, b unix.Sockaddr) bool {
	switch a := a.(type) {
	case *unix.SockaddrInet4:
		b, ok := b.(*unix.SockaddrInet4)
		return ok && a.Port == b.Port && a.Addr == b.Addr
	case *unix.SockaddrInet6:
		b, ok := b.(*unix.SockaddrInet6)
		return ok && a.Port == b.Port && a.Addr == b.Addr && a.ZoneId == b.ZoneId
	case *unix.SockaddrUnix:
		b, ok := b.(*unix.SockaddrUnix)
		return ok && a.Name == b.Name
	}
	return false
}

// udpAddrBuf holds a UDPAddr and its IP in one allocation.
type udpAddrBuf struct {
	a  net.UDPAddr
	ip [16]byte
}

// fromSockaddr converts a sender's address; an unbound unixgram sender
// has none (nil).
func fromSockaddr(sa unix.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		b := new(udpAddrBuf)
		b.a.IP = b.ip[:copy(b.ip[:], sa.Addr[:])]
		b.a.Port = sa.Port
		return &b.a
	case *unix.SockaddrInet6:
		b := new(udpAddrBuf)
		b.a.IP = b.ip[:copy(b.ip[:], sa.Addr[:])]
		b.a.Port = sa.Port
		b.a.Zone = zoneName(sa.ZoneId)
		return &b.a
	case *unix.SockaddrUnix:
		if sa.Name != "" {
			return &net.UnixAddr{Name: sa.Name, Net: "unixgram"}
		}
	}
	return nil
}

// toSockaddr converts a destination for a socket of the given family.
func toSockaddr(addr net.Addr, family int) (unix.Sockaddr, error) {
	switch a := addr.(type) {
	case *net.UDPAddr:
		if a != nil {
			return udpSockaddr(a, family)
		}
	case *net.UnixAddr:
		if a != nil && family == unix.AF_UNIX {
			return &unix.SockaddrUnix{Name: a.Name}, nil
		}
	}
	return nil, fmt.Errorf("%w: %T %v on a %s socket", ErrBadAddress, addr, addr, familyName(family))
}

func udpSockaddr(a *net.UDPAddr, family int) (unix.Sockaddr, error) {
	ip := a.IP
	switch family {
	case unix.AF_INET:
		if len(ip) == 0 {
			ip = net.IPv4zero
		}
		if ip4 := ip.To4(); ip4 != nil {
			return &unix.SockaddrInet4{Port: a.Port, Addr: [4]byte(ip4)}, nil
		}
	case unix.AF_INET6:
		if len(ip) == 0 {
			ip = net.IPv6unspecified
		}
		if ip16 := ip.To16(); ip16 != nil {
			return &unix.SockaddrInet6{Port: a.Port, Addr: [16]byte(ip16), ZoneId: zoneID(a.Zone)}, nil
		}
	}
	return nil, fmt.Errorf("%w: %v on a %s socket", ErrBadAddress, a, familyName(family))
}

func familyName(family int) string {
	switch family {
	case unix.AF_INET:
		return "IPv4"
	case unix.AF_INET6:
		return "IPv6"
	}
	return "unix"
}

// zoneName and zoneID convert an IPv6 zone: an interface name, or its
// index in decimal.
func zoneName(id uint32) string {
	if id == 0 {
		return ""
	}
	if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(id), 10)
}

func zoneID(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	n, _ := strconv.ParseUint(zone, 10, 32)
	return uint32(n)
}

// sameAddr reports whether a names the peer p.
func sameAddr(a, p net.Addr) bool {
	switch a := a.(type) {
	case *net.UDPAddr:
		p, ok := p.(*net.UDPAddr)
		return ok && a != nil && a.Port == p.Port && a.IP.Equal(p.IP) && a.Zone == p.Zone
	case *net.UnixAddr:
		p, ok := p.(*net.UnixAddr)
		return ok && a != nil && a.Name == p.Name
	}
	return false
}

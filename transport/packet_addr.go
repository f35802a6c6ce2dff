//go:build linux

package transport

import (
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/internal/sock"
)

// The conversions between net.Addr and the kernel's socket addresses for
// a datagram endpoint, whose socket family is fixed.

// maxSenders bounds the sender addresses a datagram endpoint remembers.
const maxSenders = 1024

// sockaddrFamily returns the family of the socket behind sk.
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

// udpAddrBuf holds a UDPAddr and its IP in one allocation.
type udpAddrBuf struct {
	a  net.UDPAddr
	ip [16]byte
}

// fromSockaddr converts a sender's address; an unbound unixgram sender
// has none (nil).
func fromSockaddr(sa *sock.Sockaddr) net.Addr {
	if sa.Family() == unix.AF_UNIX {
		if name := sa.UnixName(); name != "" {
			return &net.UnixAddr{Name: name, Net: "unixgram"}
		}
		return nil
	}
	ip, n, port, zone := sa.Inet()
	if n == 0 {
		return nil
	}
	b := &udpAddrBuf{ip: ip}
	b.a.IP, b.a.Port, b.a.Zone = b.ip[:n], port, zoneName(zone)
	return &b.a
}

// toSockaddr converts a destination for a socket of the given family.
func toSockaddr(addr net.Addr, family int) (sock.Sockaddr, error) {
	switch a := addr.(type) {
	case *net.UDPAddr:
		if a != nil {
			return udpSockaddr(a, family)
		}
	case *net.UnixAddr:
		if a != nil && family == unix.AF_UNIX {
			sa, err := sock.SockaddrUnix(a.Name)
			if err != nil {
				return sa, fmt.Errorf("%w: %v: name too long", ErrBadAddress, a)
			}
			return sa, nil
		}
	}
	return sock.Sockaddr{}, fmt.Errorf("%w: %T %v on a %s socket", ErrBadAddress, addr, addr, familyName(family))
}

func udpSockaddr(a *net.UDPAddr, family int) (sock.Sockaddr, error) {
	ip := a.IP
	switch family {
	case unix.AF_INET:
		if len(ip) == 0 {
			ip = net.IPv4zero
		}
		if ip4 := ip.To4(); ip4 != nil {
			return sock.SockaddrInet4([4]byte(ip4), a.Port), nil
		}
	case unix.AF_INET6:
		if len(ip) == 0 {
			ip = net.IPv6unspecified
		}
		if ip16 := ip.To16(); ip16 != nil {
			return sock.SockaddrInet6([16]byte(ip16), a.Port, zoneID(a.Zone)), nil
		}
	}
	return sock.Sockaddr{}, fmt.Errorf("%w: %v on a %s socket", ErrBadAddress, a, familyName(family))
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

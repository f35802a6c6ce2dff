package transport

import "fmt"

// kinds is a set of constructors: an option's records where it applies,
// and resolve checks it against the constructor that was called (see
// DESIGN.md, "One Option type, checked per constructor").
type kinds uint16

// One bit per constructor. Dial and Listen given WithTLS count as DialTLS
// and ListenTLS too (effective).
const (
	kDial kinds = 1 << iota
	kDialTLS
	kListen
	kListenTLS
	kListenPacket
	kDialPacket
	kExec
	kShell
	kReadPipe
	kWritePipe
	kStartTLS
	kFromConn       // takes Dial's options (checkAdoptOptions refuses those acting before connect)
	kFromListener   // takes Listen's
	kFromPacketConn // takes the datagram constructors'
)

// The sets the options' scopes are made of.
const (
	dials      = kDial | kDialTLS
	listens    = kListen | kListenTLS
	streams    = dials | listens
	packets    = kListenPacket | kDialPacket
	sockets    = streams | packets
	procs      = kExec | kShell
	pipes      = kReadPipe | kWritePipe
	transports = sockets | procs | pipes // every constructor but StartTLS
	tlsSides   = kDialTLS | kListenTLS | kStartTLS
)

var kindNames = map[kinds]string{
	kDial: "Dial", kDialTLS: "DialTLS", kListen: "Listen", kListenTLS: "ListenTLS",
	kListenPacket: "ListenPacket", kDialPacket: "DialPacket", kExec: "Exec",
	kShell: "Shell", kReadPipe: "ReadPipe", kWritePipe: "WritePipe", kStartTLS: "StartTLS",
	kFromConn: "FromConn", kFromListener: "FromListener", kFromPacketConn: "FromPacketConn",
}

// adopts maps an adopting constructor to the one whose options it takes.
var adopts = map[kinds]kinds{kFromConn: kDial, kFromListener: kListen, kFromPacketConn: packets}

// optionUse records that the option name was given, and where it applies.
type optionUse struct {
	name    string
	applies kinds
}

// scoped makes the option name, which applies to the constructors in
// applies and then runs set.
func scoped(name string, applies kinds, set func(*config)) Option {
	return func(c *config) {
		c.used = append(c.used, optionUse{name, applies})
		set(c)
	}
}

// checkScope returns an error wrapping ErrInvalidOption for the first
// option given to k that does not apply to it.
func (c *config) checkScope(k kinds) error {
	effective := k | adopts[k]
	if c.tls.config != nil {
		switch {
		case effective&kDial != 0:
			effective |= kDialTLS
		case effective&kListen != 0:
			effective |= kListenTLS
		}
	}
	for _, u := range c.used {
		if u.applies&effective == 0 {
			return fmt.Errorf("%w: %s does not apply to %s%s", ErrInvalidOption, u.name, kindNames[k], withoutTLS(k, u.applies))
		}
	}
	return nil
}

// withoutTLS explains the refusal, on a plain Dial or Listen, of an
// option that applies to it given WithTLS.
func withoutTLS(k kinds, applies kinds) string {
	if (k == kDial && applies&kDialTLS != 0) || (k == kListen && applies&kListenTLS != 0) {
		return " without WithTLS"
	}
	return ""
}

package adapters

import (
	"context"
	"net"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// DatagramProtocol is asyncio's DatagramProtocol: the callbacks of a
// datagram endpoint.
//
// The adapter calls them as it calls a Protocol's: one at a time, in event
// order, on the endpoint's read goroutine (on Linux, the poller loop that
// read the datagram: see the package doc), except PauseWriting and
// ResumeWriting, which may run on the goroutine whose SendTo or flush
// caused them. Callbacks must not block for long. A panicking callback
// aborts the endpoint with a *PanicError as ConnectionLost's error
// (asyncio would only log it).
type DatagramProtocol interface {
	// ConnectionMade is called first, exactly once, with the endpoint.
	ConnectionMade(t transport.DatagramTransport)
	// DatagramReceived is called once per datagram, with its sender (nil
	// for an unbound unixgram sender); data may be empty. Like
	// DataReceived, it must not retain data after it returns: copy what
	// must outlive the call. SendTo(data, addr) is fine, as SendTo never
	// retains p.
	DatagramReceived(data []byte, addr net.Addr)
	// ErrorReceived is called for a socket error that does not end the
	// endpoint, such as ECONNREFUSED on a connected endpoint whose peer
	// is not listening, or a send that failed (that datagram is dropped).
	ErrorReceived(err error)
	// ConnectionLost is called last, exactly once; err is nil for a Close
	// or Abort.
	ConnectionLost(err error)
	// PauseWriting is called when the queued datagrams go over the
	// high-water mark. When a SendTo inside a callback causes it, it is
	// called before that SendTo returns.
	PauseWriting()
	// ResumeWriting is called when the queue comes back to its low-water
	// mark, after a PauseWriting.
	ResumeWriting()
}

// BaseDatagramProtocol has empty implementations of every DatagramProtocol
// method: embed it and define only the callbacks you need.
type BaseDatagramProtocol struct{}

// ConnectionMade does nothing.
func (BaseDatagramProtocol) ConnectionMade(transport.DatagramTransport) {}

// DatagramReceived does nothing.
func (BaseDatagramProtocol) DatagramReceived([]byte, net.Addr) {}

// ErrorReceived does nothing.
func (BaseDatagramProtocol) ErrorReceived(error) {}

// ConnectionLost does nothing.
func (BaseDatagramProtocol) ConnectionLost(error) {}

// PauseWriting does nothing.
func (BaseDatagramProtocol) PauseWriting() {}

// ResumeWriting does nothing.
func (BaseDatagramProtocol) ResumeWriting() {}

var _ DatagramProtocol = BaseDatagramProtocol{}

// AdaptDatagram drives an open datagram endpoint's events into p's
// callbacks and returns once ConnectionMade has returned, with Adapt's
// errors.
func AdaptDatagram(t transport.DatagramTransport, p DatagramProtocol) error {
	r, err := attach(t, datagramCallbacks{t, p})
	if err != nil {
		return err
	}
	r.made.Wait()
	return r.madeErr
}

// ListenDatagram opens an unconnected datagram endpoint bound to laddr
// (asyncio's create_datagram_endpoint with local_addr), makes a protocol
// with factory and drives the endpoint's events into it. It returns at
// once, as Connect does: once ConnectionMade has returned, with the
// endpoint and the protocol, or with AdaptDatagram's errors, a
// *PanicError or ErrNilProtocol from the factory (the endpoint is then
// aborted). The endpoint serves until it is closed; nothing blocks. ctx
// bounds setting up the socket only. Any goroutine may call it.
func ListenDatagram[P DatagramProtocol](ctx context.Context, network, laddr string, factory func() P, opts ...transport.Option) (transport.DatagramTransport, P, error) {
	open := func() (transport.DatagramTransport, error) {
		return transport.ListenPacket(ctx, network, laddr, opts...)
	}
	return start(open, factory, adaptDatagram[P])
}

// ConnectDatagram opens a datagram endpoint connected to raddr (asyncio's
// create_datagram_endpoint with remote_addr), with ListenDatagram's
// behaviour otherwise.
func ConnectDatagram[P DatagramProtocol](ctx context.Context, network, raddr string, factory func() P, opts ...transport.Option) (transport.DatagramTransport, P, error) {
	open := func() (transport.DatagramTransport, error) {
		return transport.DialPacket(ctx, network, raddr, opts...)
	}
	return start(open, factory, adaptDatagram[P])
}

// datagramCallbacks calls a DatagramProtocol's methods.
type datagramCallbacks struct {
	t transport.DatagramTransport
	p DatagramProtocol
}

func (d datagramCallbacks) concurrent() bool { return false }
func (d datagramCallbacks) made()            { d.p.ConnectionMade(d.t) }

func (d datagramCallbacks) received(e stream.Event) {
	if e.Kind == stream.Datagram {
		d.p.DatagramReceived(e.Data, e.Addr)
		return
	}
	d.p.ErrorReceived(e.Err)
}

func (d datagramCallbacks) eof() bool      { return true }
func (d datagramCallbacks) lost(err error) { d.p.ConnectionLost(err) }
func (d datagramCallbacks) pauseWriting()  { d.p.PauseWriting() }
func (d datagramCallbacks) resumeWriting() { d.p.ResumeWriting() }

//go:build linux

package adapters_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"syscall"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// udpEchoServer sends every datagram back to its sender.
type udpEchoServer struct {
	adapters.BaseDatagramProtocol
	t    transport.DatagramTransport
	done chan struct{}
}

var _ adapters.DatagramProtocol = (*udpEchoServer)(nil)

func (p *udpEchoServer) ConnectionMade(t transport.DatagramTransport) { p.t = t }

// DatagramReceived borrows data; SendTo does not keep it, so echoing it
// straight back is fine.
func (p *udpEchoServer) DatagramReceived(data []byte, addr net.Addr) {
	fmt.Printf("server received %q\n", data)
	p.t.SendTo(data, addr)
}

func (p *udpEchoServer) ConnectionLost(err error) {
	fmt.Println("server closed:", err)
	close(p.done)
}

// udpEchoClient sends one datagram, prints the echo and closes.
type udpEchoClient struct {
	adapters.BaseDatagramProtocol
	t    transport.DatagramTransport
	done chan struct{}
}

var _ adapters.DatagramProtocol = (*udpEchoClient)(nil)

func (p *udpEchoClient) ConnectionMade(t transport.DatagramTransport) {
	p.t = t
	t.SendTo([]byte("Hello World!"), nil) // nil: the connected peer
}

func (p *udpEchoClient) DatagramReceived(data []byte, _ net.Addr) {
	fmt.Printf("client received %q\n", data)
	p.t.Close()
}

func (p *udpEchoClient) ConnectionLost(err error) {
	fmt.Println("client closed:", err)
	close(p.done)
}

// asyncio's UDP echo server and client (create_datagram_endpoint with
// local_addr, then with remote_addr), as DatagramProtocols. ListenDatagram
// binds and returns at once, unlike Serve: the endpoint serves until it
// is closed.
func ExampleListenDatagram() {
	ctx := context.Background()
	server := &udpEchoServer{done: make(chan struct{})}
	srv, _, err := adapters.ListenDatagram(ctx, "udp", "127.0.0.1:0", func() *udpEchoServer { return server })
	if err != nil {
		log.Fatal(err)
	}
	addr, _ := srv.ExtraInfo(transport.InfoSockname)

	client := &udpEchoClient{done: make(chan struct{})}
	if _, _, err := adapters.ConnectDatagram(ctx, "udp", addr.(net.Addr).String(), func() *udpEchoClient { return client }); err != nil {
		log.Fatal(err)
	}
	<-client.done
	srv.Close()
	<-server.done
	// Output:
	// server received "Hello World!"
	// client received "Hello World!"
	// client closed: <nil>
	// server closed: <nil>
}

// pinger reports the errors a connected endpoint gets.
type pinger struct {
	adapters.BaseDatagramProtocol
	errs chan error
}

var _ adapters.DatagramProtocol = (*pinger)(nil)

func (p *pinger) ErrorReceived(err error) {
	select {
	case p.errs <- err:
	default:
	}
}

// A connected endpoint whose peer does not listen gets ECONNREFUSED as
// ErrorReceived (asyncio's error_received), and stays open.
func ExampleConnectDatagram() {
	ctx := context.Background()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	pc.Close() // nobody listens there now

	t, p, err := adapters.ConnectDatagram(ctx, "udp", dead, func() *pinger { return &pinger{errs: make(chan error, 1)} })
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	for range 100 {
		t.SendTo([]byte("anyone?"), nil)
		select {
		case err := <-p.errs:
			fmt.Println("connection refused:", errors.Is(err, syscall.ECONNREFUSED))
			fmt.Println("still open:", !t.IsClosing())
			return
		case <-time.After(50 * time.Millisecond): // the kernel's ICMP reply is asynchronous
		}
	}
	// Output:
	// connection refused: true
	// still open: true
}

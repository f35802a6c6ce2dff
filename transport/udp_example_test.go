//go:build linux

package transport_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// ExampleListenPacket is asyncio's UDP echo server: an unconnected
// endpoint that sends every datagram back to its sender, here a plain
// net.Conn client.
func ExampleListenPacket() {
	ctx := context.Background()
	t, err := transport.ListenPacket(ctx, "udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		for ev := range t.Events() {
			switch ev.Kind {
			case stream.Datagram:
				fmt.Printf("server received %q\n", ev.Data)
				t.SendTo(ev.Data, ev.Addr) // ev.Addr is the sender
			case stream.Lost:
				fmt.Println("server lost:", ev.Err)
			}
		}
	}()

	addr, _ := t.ExtraInfo(transport.InfoSockname)
	c, err := net.Dial("udp", addr.(net.Addr).String())
	if err != nil {
		log.Fatal(err)
	}
	c.Write([]byte("hello"))
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	fmt.Printf("client received %q, %v\n", buf[:n], err)
	c.Close()

	t.Close()
	<-served
	// Output:
	// server received "hello"
	// client received "hello", <nil>
	// server lost: <nil>
}

// ExampleDialPacket connects an endpoint to an echo server: SendTo with a
// nil address goes to the peer, and only the peer's datagrams arrive.
func ExampleDialPacket() {
	ctx := context.Background()
	srv, err := transport.ListenPacket(ctx, "udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		for ev := range srv.Events() {
			if ev.Kind == stream.Datagram {
				srv.SendTo(ev.Data, ev.Addr)
			}
		}
	}()
	srvAddr, _ := srv.ExtraInfo(transport.InfoSockname)

	t, err := transport.DialPacket(ctx, "udp", srvAddr.(net.Addr).String())
	if err != nil {
		log.Fatal(err)
	}
	peer, _ := t.ExtraInfo(transport.InfoPeername)
	fmt.Println("peername is the server:", peer.(net.Addr).String() == srvAddr.(net.Addr).String())
	t.SendTo([]byte("ping"), nil) // SendTo never blocks, even before the events are claimed
	for ev := range t.Events() {
		switch ev.Kind {
		case stream.Made:
			fmt.Println("made")
		case stream.Datagram:
			fmt.Printf("received %q from the server: %v\n", ev.Data, ev.Addr.String() == srvAddr.(net.Addr).String())
			t.Close()
		case stream.Lost:
			fmt.Println("lost:", ev.Err)
		}
	}

	srv.Close()
	<-served
	// Output:
	// peername is the server: true
	// made
	// received "ping" from the server: true
	// lost: <nil>
}

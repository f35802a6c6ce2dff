package transport_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// ExampleFromListener serves a listener made elsewhere (by systemd socket
// activation, say, or another library) and adopts a connection dialed by
// the standard library: both then run as rxnet transports, and closing
// them closes the sockets they adopted.
func ExampleFromListener() {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // made elsewhere
	if err != nil {
		log.Fatal(err)
	}
	srv, err := transport.FromListener(ln) // srv owns ln now
	if err != nil {
		ln.Close() // a refused listener is still ours
		log.Fatal(err)
	}
	defer srv.Close()
	served := make(chan struct{})
	go func() { // an echo server: bounded by the transport's flow control
		defer close(served)
		t, err := srv.Accept(context.Background())
		if err != nil {
			return
		}
		for ev := range t.Events() {
			if ev.Kind == stream.Data {
				t.Write(ev.Data)
			}
		}
	}()

	nc, err := net.Dial("tcp", ln.Addr().String()) // made elsewhere
	if err != nil {
		log.Fatal(err)
	}
	t, err := transport.FromConn(nc) // t owns nc now
	if err != nil {
		nc.Close()
		log.Fatal(err)
	}
	t.Write([]byte("hello"))
	var echo []byte
	for ev := range t.Events() {
		switch ev.Kind {
		case stream.Data: // TCP may split the echo: collect it
			echo = append(echo, ev.Data...)
			if len(echo) == len("hello") {
				fmt.Printf("echo: %s\n", echo)
				t.Close()
			}
		case stream.Lost:
			fmt.Println("lost:", ev.Err)
		}
	}
	<-served
	_, err = nc.Read(make([]byte, 1))
	fmt.Println("adopted conn closed:", errors.Is(err, net.ErrClosed))
	// Output:
	// echo: hello
	// lost: <nil>
	// adopted conn closed: true
}

// ExampleFromConn adopts connections rxnet can drive (a *net.TCPConn or a
// stream *net.UnixConn, from either side) and refuses the others, which
// stay the caller's: a net.Pipe has no descriptor to wait on.
func ExampleFromConn() {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	_, err := transport.FromConn(a)
	fmt.Println("net.Pipe refused:", errors.Is(err, transport.ErrNotAdoptable))

	dir, err := os.MkdirTemp("", "rxnet-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("unix", filepath.Join(dir, "peer.sock"))
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("hi from the peer"))
		c.Close()
	}()
	nc, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	t, err := transport.FromConn(nc) // t owns nc now
	if err != nil {
		nc.Close()
		log.Fatal(err)
	}
	var got []byte
	for ev := range t.Events() {
		got = append(got, ev.Data...) // a stream may split the greeting
	}
	fmt.Printf("%s, then %v\n", got, t.Err())
	// Output:
	// net.Pipe refused: true
	// hi from the peer, then <nil>
}

// ExampleFromPacketConn adopts a UDP socket made elsewhere: the endpoint
// then sends and receives datagrams as ListenPacket's does.
func ExampleFromPacketConn() {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // made elsewhere
	if err != nil {
		log.Fatal(err)
	}
	ep, err := transport.FromPacketConn(pc) // ep owns pc now
	if err != nil {
		pc.Close()
		log.Fatal(err)
	}
	defer ep.Close()
	peer, err := net.Dial("udp", ep.LocalAddr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Close()
	peer.Write([]byte("ping"))
	for ev := range ep.Events() {
		if ev.Kind == stream.Datagram {
			fmt.Printf("%s from the peer: %v\n", ev.Data, ev.Addr.String() == peer.LocalAddr().String())
			ep.Close()
		}
	}
	// Output:
	// ping from the peer: true
}

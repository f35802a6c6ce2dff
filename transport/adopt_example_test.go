package transport_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"

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

	// A conn rxnet cannot drive is refused, and stays the caller's.
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	_, err = transport.FromConn(a)
	fmt.Println("net.Pipe refused:", errors.Is(err, transport.ErrNotAdoptable))
	// Output:
	// echo: hello
	// lost: <nil>
	// adopted conn closed: true
	// net.Pipe refused: true
}

package adapters_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// echoServer writes back what it receives. Its EOFReceived (from
// BaseProtocol) returns false, so the connection closes once the echo is
// flushed.
type echoServer struct {
	adapters.BaseProtocol
	t transport.Transport
}

var _ adapters.Protocol = (*echoServer)(nil)

func (p *echoServer) ConnectionMade(t transport.Transport) { p.t = t }
func (p *echoServer) DataReceived(data []byte)             { p.t.Write(data) }

// echoClient collects what comes back and reports when the connection ends.
type echoClient struct {
	adapters.BaseProtocol
	got  []byte
	done chan struct{}
}

var _ adapters.Protocol = (*echoClient)(nil)

func (p *echoClient) DataReceived(data []byte) { p.got = append(p.got, data...) }

func (p *echoClient) ConnectionLost(err error) {
	fmt.Printf("client received %q, connection lost: %v\n", p.got, err)
	close(p.done)
}

// An echo server (asyncio's create_server with a protocol factory) and a
// client that sends one message and half-closes.
func ExampleServe() {
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- adapters.Serve(ctx, srv, func() *echoServer { return &echoServer{} })
	}()

	client := &echoClient{done: make(chan struct{})}
	t, _, err := adapters.Connect(ctx, "tcp", srv.Addr().String(), func() *echoClient { return client })
	if err != nil {
		log.Fatal(err)
	}
	t.Write([]byte("Hello World!"))
	t.WriteEOF() // the server echoes, sees EOF and closes; so does the client
	<-client.done

	srv.Close()
	err = <-served
	fmt.Println("Serve returned ErrServerClosed:", errors.Is(err, transport.ErrServerClosed))
	// Output:
	// client received "Hello World!", connection lost: <nil>
	// Serve returned ErrServerClosed: true
}

// greeted prints its callbacks as they come.
type greeted struct {
	adapters.BaseProtocol
	got  []byte
	done chan struct{}
}

var _ adapters.Protocol = (*greeted)(nil)

func (p *greeted) ConnectionMade(transport.Transport) { fmt.Println("ConnectionMade") }
func (p *greeted) DataReceived(data []byte)           { p.got = append(p.got, data...) }

func (p *greeted) EOFReceived() bool {
	fmt.Printf("EOFReceived after %q\n", p.got)
	return false // close
}

func (p *greeted) ConnectionLost(err error) {
	fmt.Println("ConnectionLost:", err)
	close(p.done)
}

// Connect (asyncio's create_connection) returns once ConnectionMade has
// returned. Here the server is a plain net.Listener that greets and hangs
// up.
func ExampleConnect() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("hello from net.Listen"))
		c.Close()
	}()

	p := &greeted{done: make(chan struct{})}
	t, _, err := adapters.Connect(context.Background(), "tcp", ln.Addr().String(), func() *greeted { return p })
	if err != nil {
		log.Fatal(err)
	}
	<-p.done
	fmt.Println("IsClosing:", t.IsClosing())
	// Output:
	// ConnectionMade
	// EOFReceived after "hello from net.Listen"
	// ConnectionLost: <nil>
	// IsClosing: true
}

// zeros is an endless source of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// NewWriter gives io.Copy asyncio's write-then-drain: each Write waits
// while the transport is paused, so copying into a slow peer holds at
// most the high-water mark plus one write in memory.
func ExampleNewWriter() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	received := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- -1
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		received <- n
	}()

	t, err := transport.Dial(context.Background(), "tcp", ln.Addr().String(),
		transport.WithWriteBufferLimits(64<<10, 16<<10))
	if err != nil {
		log.Fatal(err)
	}
	n, err := io.CopyN(adapters.NewWriter(t), zeros{}, 8<<20)
	fmt.Println("copied", n, "bytes, error:", err)
	t.Close() // flushes, then closes
	fmt.Println("the peer received", <-received, "bytes")
	// Output:
	// copied 8388608 bytes, error: <nil>
	// the peer received 8388608 bytes
}

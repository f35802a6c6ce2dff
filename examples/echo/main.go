// Command echo is asyncio's TCP echo server and client example, written
// with rxnet's Protocol adapter. Both sides print what the seed's
// (asyncio's documentation, which rxnet started from) print, line for
// line: the server "serving on", "connection from" and "data received",
// the client "data sent", "data received" and "server closed the
// connection". Addresses print Go's way (127.0.0.1:8888), not Python's
// tuples.
//
// Run without flags, it starts the server on a free local port, runs the
// client against it, sending the seed's message, and exits. With -mode server or -mode client and
// -addr HOST:PORT it runs one side, so it works against nc or any other
// echo peer.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// out is where both sides print; tests replace it.
var out io.Writer = os.Stdout

// echoServer sends back what it receives, then closes the connection.
// It buffers at most one read (64 KiB) for a client that does not read
// it: after Close nothing more is read, so flow control has nothing left
// to hold back, and its PauseWriting and ResumeWriting are not needed
// (a server that goes on reading needs them: see examples/tls-echo).
type echoServer struct {
	adapters.BaseProtocol
	t transport.Transport
}

var _ adapters.Protocol = (*echoServer)(nil)

func (p *echoServer) ConnectionMade(t transport.Transport) {
	peer, _ := t.ExtraInfo(transport.InfoPeername)
	fmt.Fprintf(out, "connection from %v\n", peer)
	p.t = t
}

func (p *echoServer) DataReceived(data []byte) {
	fmt.Fprintf(out, "data received: %s\n", data)
	p.t.Write(data)
	// close the socket
	p.t.Close()
}

// seedMessage is what the seed's client sends.
const seedMessage = "This is the message. It will be echoed."

// echoClient sends one message and prints what comes back.
type echoClient struct {
	adapters.BaseProtocol
	message string
	done    chan struct{}
}

var _ adapters.Protocol = (*echoClient)(nil)

func (p *echoClient) ConnectionMade(t transport.Transport) {
	t.Write([]byte(p.message))
	fmt.Fprintf(out, "data sent: %s\n", p.message)
}

func (p *echoClient) DataReceived(data []byte) {
	fmt.Fprintf(out, "data received: %s\n", data)
}

func (p *echoClient) ConnectionLost(error) {
	fmt.Fprintln(out, "server closed the connection")
	close(p.done)
}

func main() {
	mode := flag.String("mode", "both", "both, server or client")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on or connect to")
	message := flag.String("message", seedMessage, "what the client sends")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *mode, *addr, *message); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, mode, addr, message string) error {
	switch mode {
	case "server":
		srv, err := serve(ctx, addr)
		if err != nil {
			return err
		}
		<-ctx.Done()
		return srv.Close()
	case "client":
		return client(ctx, addr, message)
	case "both":
		srv, err := serve(ctx, addr)
		if err != nil {
			return err
		}
		defer srv.Close()
		if err := client(ctx, srv.Addr().String(), message); err != nil {
			return err
		}
		return srv.Shutdown(ctx) // the server side closes on its own
	}
	return fmt.Errorf("unknown -mode %q (want both, server or client)", mode)
}

// serve listens on addr and serves echoServer protocols in the background.
func serve(ctx context.Context, addr string) (*transport.Server, error) {
	srv, err := transport.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "serving on %v\n", srv.Addr())
	go adapters.Serve(ctx, srv, func() *echoServer { return &echoServer{} })
	return srv, nil
}

// client connects to addr, sends message and waits for the server to close.
func client(ctx context.Context, addr, message string) error {
	_, p, err := adapters.Connect(ctx, "tcp", addr, func() *echoClient {
		return &echoClient{message: message, done: make(chan struct{})}
	})
	if err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Command udp-echo is asyncio's UDP echo server and client example,
// written with rxnet's datagram adapter: adapters.ListenDatagram for the
// server, adapters.ConnectDatagram for the client.
//
// Run without flags, it starts the server on a free local port, runs the
// client against it, closes the server and exits. With -mode server or
// -mode client and -addr HOST:PORT it runs one side, so it works against
// nc -u or any other UDP echo peer. UDP may lose a datagram: the client
// gives up after -timeout without an echo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// out is where both sides print; tests replace it.
var out io.Writer = os.Stdout

// echoTimeout is how long the client waits for its echo (-timeout).
var echoTimeout = 5 * time.Second

// echoServer sends every datagram back to its sender. It honours flow
// control: while the datagrams it sends are queued over the high-water
// mark (the socket's send buffer is full) it stops reading, so that the
// queue stops growing.
type echoServer struct {
	adapters.BaseDatagramProtocol
	t    transport.DatagramTransport
	done chan struct{} // closed by ConnectionLost
}

var _ adapters.DatagramProtocol = (*echoServer)(nil)

func (p *echoServer) ConnectionMade(t transport.DatagramTransport) { p.t = t }

// DatagramReceived borrows data: SendTo does not keep it, so sending it
// straight back is fine.
func (p *echoServer) DatagramReceived(data []byte, addr net.Addr) {
	fmt.Fprintf(out, "received %q from %v\n", data, addr)
	fmt.Fprintf(out, "send %q to %v\n", data, addr)
	if err := p.t.SendTo(data, addr); err != nil {
		fmt.Fprintf(out, "send failed: %v\n", err)
	}
}

// PauseWriting stops reading until the queue has drained.
func (p *echoServer) PauseWriting() { p.t.PauseReading() }

// ResumeWriting reads again.
func (p *echoServer) ResumeWriting() { p.t.ResumeReading() }

func (p *echoServer) ConnectionLost(error) { close(p.done) }

// echoClient sends one datagram, prints the echo and closes.
type echoClient struct {
	adapters.BaseDatagramProtocol
	message string
	t       transport.DatagramTransport
	echoed  bool  // an echo came back; read after done is closed
	err     error // the first ErrorReceived; read after done is closed
	done    chan struct{}
}

var _ adapters.DatagramProtocol = (*echoClient)(nil)

func (p *echoClient) ConnectionMade(t transport.DatagramTransport) {
	p.t = t
	fmt.Fprintf(out, "send: %s\n", p.message)
	// nil: the connected peer.
	if err := t.SendTo([]byte(p.message), nil); err != nil {
		p.ErrorReceived(err)
	}
}

func (p *echoClient) DatagramReceived(data []byte, _ net.Addr) {
	if p.echoed {
		return // a duplicate; we are already closing
	}
	p.echoed = true
	fmt.Fprintf(out, "received: %s\n", data)
	fmt.Fprintln(out, "close the socket")
	p.t.Close()
}

// ErrorReceived reports a socket error, such as ECONNREFUSED when nothing
// listens on the server's port, and gives up.
func (p *echoClient) ErrorReceived(err error) {
	fmt.Fprintf(out, "error received: %v\n", err)
	if p.err == nil {
		p.err = err
	}
	p.t.Close()
}

func (p *echoClient) ConnectionLost(error) {
	fmt.Fprintln(out, "connection closed")
	close(p.done)
}

func main() {
	mode := flag.String("mode", "both", "both, server or client")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on or send to")
	message := flag.String("message", "Hello World!", "what the client sends")
	flag.DurationVar(&echoTimeout, "timeout", echoTimeout, "how long the client waits for the echo")
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
		t, p, err := serve(ctx, addr)
		if err != nil {
			return err
		}
		<-ctx.Done()
		return closeServer(t, p)
	case "client":
		return client(ctx, addr, message, echoTimeout)
	case "both":
		t, p, err := serve(ctx, addr)
		if err != nil {
			return err
		}
		err = client(ctx, localAddr(t), message, echoTimeout)
		return errors.Join(err, closeServer(t, p))
	}
	return fmt.Errorf("unknown -mode %q (want both, server or client)", mode)
}

// serve binds a UDP endpoint to addr and drives it into an echoServer.
func serve(ctx context.Context, addr string) (transport.DatagramTransport, *echoServer, error) {
	t, p, err := adapters.ListenDatagram(ctx, "udp", addr, func() *echoServer {
		return &echoServer{done: make(chan struct{})}
	})
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(out, "serving on %s\n", localAddr(t))
	return t, p, nil
}

// localAddr returns the address t is bound to.
func localAddr(t transport.DatagramTransport) string {
	if a, ok := t.ExtraInfo(transport.InfoSockname); ok {
		if a, ok := a.(net.Addr); ok {
			return a.String()
		}
	}
	return "?"
}

// closeServer closes the server's endpoint and waits for its
// ConnectionLost, so that no goroutine is left behind.
func closeServer(t transport.DatagramTransport, p *echoServer) error {
	err := t.Close()
	<-p.done
	return err
}

// client sends message to addr from a connected UDP endpoint and waits
// for the echo, for an error, or for timeout.
func client(ctx context.Context, addr, message string, timeout time.Duration) error {
	t, p, err := adapters.ConnectDatagram(ctx, "udp", addr, func() *echoClient {
		return &echoClient{message: message, done: make(chan struct{})}
	})
	if err != nil {
		return err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		t.Close()
		<-p.done
		return fmt.Errorf("no echo from %s within %v", addr, timeout)
	case <-ctx.Done():
		t.Close()
		<-p.done
		return ctx.Err()
	}
	if !p.echoed {
		return fmt.Errorf("no echo from %s: %w", addr, p.err)
	}
	return nil
}

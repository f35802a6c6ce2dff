package adapters_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// uploadProtocol reads a header line ("PUT <length>") with callbacks,
// hands the body to a stream consumer with Detach, and gets the events
// back with Attach for the trailer line.
type uploadProtocol struct {
	adapters.BaseProtocol
	t       transport.Transport
	line    []byte
	trailer bool // the body is done: the next line is the trailer
	done    chan struct{}
}

var _ adapters.Protocol = (*uploadProtocol)(nil)

func (p *uploadProtocol) ConnectionMade(t transport.Transport) { p.t = t }

// DataReceived collects a line: the header, which hands the body to a
// stream, or the trailer once the events are back.
func (p *uploadProtocol) DataReceived(data []byte) {
	p.line = append(p.line, data...) // data is borrowed: copy it
	i := strings.IndexByte(string(p.line), '\n')
	if i < 0 {
		return
	}
	line := string(p.line[:i])
	p.line = p.line[:0]
	if p.trailer {
		fmt.Println("trailer:", line)
		p.t.Write([]byte("bye\n"))
		return
	}
	fmt.Println("header:", line)
	size, _ := strconv.Atoi(strings.TrimPrefix(line, "PUT "))
	d, err := adapters.Detach(p.t, nil) // the next event goes to the stream
	if err != nil {
		log.Fatal(err)
	}
	p.trailer = true
	go p.body(d, size)
	p.t.Write([]byte("ready\n"))
}

// body reads the body from the detached stream's channel, then hands the
// connection back to the protocol (events still in the channel go to it
// first, in order).
func (p *uploadProtocol) body(d *adapters.Detached, size int) {
	var body []byte
	for e := range d.Events() {
		if e.Kind != stream.Data {
			continue // the stream's own Made
		}
		body = append(body, e.Data...) // owned: no copy needed, but TCP may split it
		if len(body) == size {
			break
		}
	}
	fmt.Printf("body: %s\n", body)
	d.Transport().Write([]byte("got " + strconv.Itoa(size) + "\n"))
	if err := d.Attach(p); err != nil {
		log.Fatal(err)
	}
}

// ConnectionLost reports the end. EOFReceived (BaseProtocol's) returned
// false at the client's EOF: the transport closed once "bye" was flushed.
func (p *uploadProtocol) ConnectionLost(err error) {
	fmt.Println("connection lost:", err)
	close(p.done)
}

// A protocol parses a header with callbacks, a goroutine consumes the
// body from a channel, and the protocol takes the connection back for
// the trailer.
func ExampleDetach() {
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	proto := &uploadProtocol{done: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- adapters.Serve(ctx, srv, func() *uploadProtocol { return proto }) }()

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	replies := bufio.NewReader(c)
	step := func(send string) string {
		io.WriteString(c, send)
		reply, _ := replies.ReadString('\n')
		return strings.TrimSpace(reply)
	}
	fmt.Println("client:", step("PUT 11\n"))
	fmt.Println("client:", step("hello world"))
	fmt.Println("client:", step("END\n"))
	c.(*net.TCPConn).CloseWrite()
	<-proto.done

	srv.Close()
	<-served
	// Output:
	// header: PUT 11
	// client: ready
	// body: hello world
	// client: got 11
	// trailer: END
	// client: bye
	// connection lost: <nil>
}

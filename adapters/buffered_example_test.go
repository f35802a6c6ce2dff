package adapters_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// bufferedEcho is a BufferedProtocol: the transport reads straight into
// buf, and BufferUpdated writes the bytes back from there (Write never
// keeps its argument, so buf is free again when it returns). Its
// EOFReceived (from BaseBufferedProtocol) returns false: the connection
// closes once the echo is flushed.
type bufferedEcho struct {
	adapters.BaseBufferedProtocol
	t   transport.Transport
	buf [4096]byte
}

var _ adapters.BufferedProtocol = (*bufferedEcho)(nil)

func (p *bufferedEcho) ConnectionMade(t transport.Transport) { p.t = t }
func (p *bufferedEcho) GetBuffer(int) []byte                 { return p.buf[:] }
func (p *bufferedEcho) BufferUpdated(n int)                  { p.t.Write(p.buf[:n]) }

// An echo server whose protocol provides the read buffer (asyncio's
// BufferedProtocol): no byte is copied between the socket and the
// protocol.
func ExampleBufferedProtocol() {
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	go adapters.Serve(ctx, srv, func() *bufferedEcho { return &bufferedEcho{} })

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("buffered hello"))
	c.(*net.TCPConn).CloseWrite()
	echo, _ := io.ReadAll(c)
	fmt.Printf("%s\n", echo)
	// Output: buffered hello
}

package main

// The buffered mode (issue 14): the echo as asyncio's BufferedProtocol,
// served by adapters.Serve. The transport reads straight into the
// protocol's own buffer, and the protocol writes the bytes read back from
// it: no copy on rxnet's side of the read, and no buffer allocated per
// read.

import (
	"context"
	"net"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// bufferedEcho is the echo as an adapters.BufferedProtocol. GetBuffer
// returns its one 64 KiB buffer (copyBufSize, the largest read rxnet
// makes, as the net.Conn baseline's), made at the first read and reused
// for every read after; BufferUpdated writes the n bytes read back.
// t.Write never retains its argument, so the buffer is free for the next
// read once it returns. Like echoProtocol it honours flow control: while
// its writes are paused it pauses reading, so that a peer that sends
// without reading holds at most the high-water mark plus one read in its
// write buffer. The adapter calls its methods one at a time, on the
// goroutine that reads the transport.
type bufferedEcho struct {
	adapters.BaseBufferedProtocol
	t   transport.Transport
	buf []byte
}

var _ adapters.BufferedProtocol = (*bufferedEcho)(nil)

func (p *bufferedEcho) ConnectionMade(t transport.Transport) {
	p.t = t
	watchTransport(t)
}

// GetBuffer returns the protocol's buffer, whatever the hint: the
// adapter copies a larger delivery in over several reads.
func (p *bufferedEcho) GetBuffer(int) []byte {
	if p.buf == nil {
		p.buf = make([]byte, copyBufSize)
	}
	return p.buf
}

func (p *bufferedEcho) BufferUpdated(n int) { _, _ = p.t.Write(p.buf[:n]) }

func (p *bufferedEcho) PauseWriting() {
	p.t.PauseReading()
	heldBack(p.t)
}

func (p *bufferedEcho) ResumeWriting() { p.t.ResumeReading() }

// serveBuffered serves bufferedEcho through adapters.Serve.
func serveBuffered(ctx context.Context, addr string) (net.Addr, error) {
	return serveAdapted(ctx, addr, func() *bufferedEcho { return &bufferedEcho{} })
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// copyBufSize is the read buffer of the net.Conn baseline and of the rw
// mode's io.CopyBuffer: 64 KiB, the largest read rxnet makes.
const copyBufSize = 64 << 10

// serveFunc starts an echo server listening on addr and returns its
// address; it serves in the background until the process exits.
type serveFunc func(ctx context.Context, addr string) (net.Addr, error)

// servers are the echo servers under test, by mode name.
var servers = map[string]serveFunc{
	"netconn":       serveNetConn,
	"protocol":      serveProtocol,
	"events":        serveEvents,
	"rx":            serveRx,
	"rw":            serveRW,
	"events-pooled": serveEventsPooled,
	"rx-pooled":     serveRxPooled,
	"rw-pooled":     serveRWPooled,
	"buffered":      serveBuffered,
}

// allModes is the default matrix, baseline first.
var allModes = []string{"netconn", "protocol", "events", "rx", "rw", "events-pooled", "rx-pooled", "rw-pooled", "buffered"}

// modeNames lists the known modes for messages.
func modeNames() string {
	names := make([]string, 0, len(servers))
	for name := range servers {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// serveNetConn is the baseline: the standard library, one goroutine per
// connection, a read/write loop over a reused 64 KiB buffer.
func serveNetConn(ctx context.Context, addr string) (net.Addr, error) {
	return serveEachNetConn(ctx, addr, echoNetConn)
}

// serveEachNetConn listens on addr and runs echo on each accepted
// net.Conn in its own goroutine, until ctx ends (which closes the
// listener).
func serveEachNetConn(ctx context.Context, addr string, echo func(net.Conn)) (net.Addr, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go echo(c)
		}
	}()
	return ln.Addr(), nil
}

func echoNetConn(c net.Conn) {
	defer c.Close()
	buf := make([]byte, copyBufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// echoProtocol is asyncio's echo protocol: DataReceived writes the data
// back. It honours flow control: while its writes are paused it pauses
// reading, so that a peer that sends without reading holds at most the
// high-water mark plus one read in its write buffer.
type echoProtocol struct {
	adapters.BaseProtocol
	t transport.Transport
}

var _ adapters.Protocol = (*echoProtocol)(nil)

func (p *echoProtocol) ConnectionMade(t transport.Transport) {
	p.t = t
	watchTransport(t)
}

func (p *echoProtocol) DataReceived(data []byte) { _, _ = p.t.Write(data) }

func (p *echoProtocol) PauseWriting() {
	p.t.PauseReading()
	heldBack(p.t)
}

func (p *echoProtocol) ResumeWriting() { p.t.ResumeReading() }

// serveProtocol serves echoProtocol through adapters.Serve.
func serveProtocol(ctx context.Context, addr string) (net.Addr, error) {
	return serveEchoProtocol(ctx, addr)
}

// serveEchoProtocol listens on addr with opts and serves echoProtocol
// through adapters.Serve until ctx ends; it returns an *rxServer.
func serveEchoProtocol(ctx context.Context, addr string, opts ...transport.Option) (net.Addr, error) {
	return serveAdapted(ctx, addr, func() *echoProtocol { return &echoProtocol{} }, opts...)
}

// serveAdapted listens on addr with opts and serves a protocol from
// factory on each connection through adapters.Serve until ctx ends; it
// returns an *rxServer.
func serveAdapted[P adapters.StreamProtocol](ctx context.Context, addr string, factory func() P, opts ...transport.Option) (net.Addr, error) {
	s, err := listenRx(ctx, addr, opts...)
	if err != nil {
		return nil, err
	}
	s.tasks.Go(func() { _ = adapters.Serve(ctx, s.srv, factory) })
	return s, nil
}

// rxServer is what the servers over rxnet's stream transports return as
// their address: the listener's address, with the transport.Server behind
// it and the goroutines that serve it. The soak mode (soak_server.go)
// shuts the server down through it and waits for those goroutines; tests
// read the server's Stats through it.
type rxServer struct {
	net.Addr
	srv   *transport.Server
	tasks sync.WaitGroup // the accepting goroutine and, for acceptEach, one per connection
}

// listenRx listens on addr with opts until ctx ends, which closes the
// server (aborting its transports).
func listenRx(ctx context.Context, addr string, opts ...transport.Option) (*rxServer, error) {
	srv, err := transport.Listen(ctx, "tcp", addr, opts...)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { srv.Close() })
	return &rxServer{Addr: srv.Addr(), srv: srv}, nil
}

// acceptEach listens on addr with opts and runs handle on its own
// goroutine for every accepted transport, until ctx ends; it returns an
// *rxServer.
func acceptEach(ctx context.Context, addr string, handle func(context.Context, transport.Transport), opts ...transport.Option) (net.Addr, error) {
	s, err := listenRx(ctx, addr, opts...)
	if err != nil {
		return nil, err
	}
	s.tasks.Go(func() {
		for {
			t, err := s.srv.Accept(ctx)
			if err != nil {
				return
			}
			watchTransport(t)
			s.tasks.Go(func() { handle(ctx, t) })
		}
	})
	return s, nil
}

// serveEvents ranges over each transport's event channel and writes every
// Data event back.
func serveEvents(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, echoEvents)
}

// echoEvents ranges over t's event channel and writes every Data event
// back, then releases it: t.Write never retains its argument, so the
// bytes are done with once it returns (Release does nothing unless t was
// made WithPooledData: serveEventsPooled). It honours flow control:
// after a write that paused writing it takes no more events until the
// write buffer has drained (drain), so the channel fills and the
// transport stops reading.
func echoEvents(ctx context.Context, t transport.Transport) {
	for ev := range t.Events() {
		if ev.Kind == stream.Data {
			_, _ = t.Write(ev.Data)
			ev.Release()
			drain(ctx, t)
		}
	}
}

// serveRx observes each transport's events through an rxgo Map stage that
// extracts the payload, and writes the payloads back in the observer,
// waiting while writing is paused (drain). The subscription's context is
// cancelled at the end, as docs/rx.md asks. The transports are half-open
// after EOF (WithHalfClose) and the observer closes them when EOF comes
// through the pipeline: otherwise the transport would close itself as
// soon as the Map stage took EOF, and a reply still on its way through
// the pipeline would be lost (DESIGN.md, Decisions).
func serveRx(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, func(ctx context.Context, t transport.Transport) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		payloads := t.Observable().Map(func(_ context.Context, v any) (any, error) {
			if e := v.(stream.Event); e.Kind != stream.EOF {
				return e.Data, nil
			}
			return v, nil // EOF: the observer closes the transport
		})
		for item := range payloads.Observe(rxgo.WithContext(ctx)) {
			switch v := item.V.(type) {
			case []byte:
				if len(v) > 0 {
					_, _ = t.Write(v)
					drain(ctx, t)
				}
			case stream.Event: // EOF
				t.Close() // flushes the replies, then closes
			}
		}
	}, transport.WithHalfClose())
}

// serveRW copies each transport's adapters.Reader into its
// adapters.Writer with io.CopyBuffer and a 64 KiB buffer, as the net.Conn
// baseline does.
func serveRW(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, func(_ context.Context, t transport.Transport) {
		defer t.Close()
		buf := make([]byte, copyBufSize)
		_, _ = io.CopyBuffer(adapters.NewWriter(t), adapters.NewReader(t), buf)
	})
}

// hiddenFlags are the flags of the server child, left out of -help.
var hiddenFlags = map[string]bool{
	"serve": true, "addr": true, "cpuprofile": true, "memprofile": true, "memprofilerate": true, "exitgc": true,
	"tlscert": true, "tlskey": true, "soakcheck": true,
}

// printUsage prints the public flags.
func printUsage() {
	out := flag.CommandLine.Output()
	fmt.Fprintf(out, "Usage: go run ./examples/bench [flags]\n\n")
	fmt.Fprintf(out, "Runs the echo benchmark described in DESIGN.md (Performance) and prints\n")
	fmt.Fprintf(out, "one table per message size. Modes: %s.\n\nFlags:\n", modeNames())
	flag.VisitAll(func(f *flag.Flag) {
		if hiddenFlags[f.Name] {
			return
		}
		name, help := flag.UnquoteUsage(f)
		fmt.Fprintf(out, "  -%s %s\n    \t%s", f.Name, name, help)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(out, " (default %v)", f.DefValue)
		}
		fmt.Fprintln(out)
	})
}

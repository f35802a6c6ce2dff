// Command starttls shows a STARTTLS upgrade (SMTP's, RFC 3207, much
// simplified) with rxnet's Protocol adapter and transport.StartTLS
// (asyncio's loop.start_tls). The connection starts in plain text:
//
//	server: 220 ready
//	client: STARTTLS
//	server: 220 go ahead
//
// then both sides call transport.StartTLS on the transport they already
// have, from inside their protocol's DataReceived (the server with
// transport.WithServerSide), and the same protocols go on with encrypted
// lines: no second ConnectionMade, no byte lost. The client closes with a
// close_notify, which the server answers. Each side prints what it sends
// (>), receives (<) and does. A certificate authority and the server's
// certificate are made at start with crypto/x509 (internal/certs).
//
// The server bounds what it holds for each client: a line over maxLine
// (1000) bytes ends the connection, and while the client does not read
// its replies the server answers no more lines and stops reading
// (PauseWriting, ResumeWriting).
//
// Run without flags, it starts the server on a free local port, runs the
// client against it and exits:
//
//	go run ./examples/starttls
//
// The client sends each argument as an encrypted line (two lines when
// there is none). With -mode server it serves on -addr and writes its
// CA's certificate to the -ca file, which -mode client trusts:
//
//	go run ./examples/starttls -mode server -addr 127.0.0.1:2525 -ca /tmp/ca.pem
//	go run ./examples/starttls -mode client -addr 127.0.0.1:2525 -ca /tmp/ca.pem one two
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// out is where both sides print; tests replace it.
var out io.Writer = os.Stdout

// defaultLines are what the client sends when given no arguments.
var defaultLines = []string{"Hello World!", "this line is encrypted"}

// maxLine is the longest line either side accepts (SMTP's limit, RFC
// 5321): a peer that sends a longer one (or no newline at all) is cut
// off, so that a line buffer holds at most maxLine bytes plus one read.
const maxLine = 1000

// lines frames the byte stream into lines of at most maxLine bytes.
var lines = stream.Lines(maxLine)

// lineBuffer splits a byte stream into lines, bounded by maxLine.
type lineBuffer struct{ partial []byte }

// add appends data to the buffer; data is borrowed: add copies it.
func (b *lineBuffer) add(data []byte) { b.partial = append(b.partial, data...) }

// next returns the next complete line, without its newline (and a
// trailing "\r"), or ok false when there is none yet. It fails (with
// stream.ErrFrameTooLarge) once the buffer holds more than maxLine bytes
// without a newline.
func (b *lineBuffer) next() (line string, ok bool, err error) {
	advance, tok, err := lines.SplitFunc()(b.partial, false)
	if err != nil || advance == 0 {
		return "", false, err
	}
	b.partial = b.partial[advance:]
	return string(tok), true, nil
}

// reset drops what the buffer holds: plain text left over when the
// connection switches to TLS (RFC 3207 says to discard it).
func (b *lineBuffer) reset() { b.partial = nil }

// describe returns the TLS version and cipher suite t negotiated.
func describe(t transport.Transport) string {
	v, _ := t.ExtraInfo(transport.InfoCipher)
	c, _ := v.(transport.CipherInfo)
	return c.Version + ", " + c.Name
}

// send writes line and prints it as who sent it.
func send(t transport.Transport, who, line string) {
	fmt.Fprintf(out, "%s: > %s\n", who, line)
	t.Write([]byte(line + "\n"))
}

// starttlsServer greets in plain text, upgrades on STARTTLS, then answers
// each encrypted line. It honours flow control: while the client does not
// read its replies (PauseWriting) it answers no more lines and stops
// reading; ResumeWriting answers the lines held back and reads again. A
// line over maxLine bytes ends the connection.
type starttlsServer struct {
	adapters.BaseProtocol
	ctx    context.Context // bounds StartTLS's handshake
	config *tls.Config
	t      transport.Transport
	lines  lineBuffer
	secure bool
	paused bool   // writing is paused: answer nothing more
	done   func() // called by ConnectionLost
}

var _ adapters.Protocol = (*starttlsServer)(nil)

func (p *starttlsServer) ConnectionMade(t transport.Transport) {
	p.t = t
	peer, _ := t.ExtraInfo(transport.InfoPeername)
	fmt.Fprintf(out, "server: connection from %v (plain text)\n", peer)
	send(t, "server", "220 ready")
}

func (p *starttlsServer) DataReceived(data []byte) {
	p.lines.add(data)
	p.answer()
}

// answer answers the lines received, until none is left or writing
// pauses.
func (p *starttlsServer) answer() {
	for !p.paused {
		line, ok, err := p.lines.next()
		if err != nil {
			fmt.Fprintf(out, "server: the client sent a line over %d bytes; close\n", maxLine)
			send(p.t, "server", "500 line too long")
			p.t.Close()
			return
		}
		if !ok {
			return
		}
		fmt.Fprintf(out, "server: < %s\n", line)
		switch {
		case p.secure:
			send(p.t, "server", "250 got "+line)
		case line == "STARTTLS":
			send(p.t, "server", "220 go ahead") // plain: written before StartTLS
			p.startTLS()
			return
		default:
			send(p.t, "server", "530 STARTTLS first")
		}
	}
}

// PauseWriting is called inside the send (Write) that went over the
// high-water mark: answer stops after it.
func (p *starttlsServer) PauseWriting() {
	p.paused = true
	p.t.PauseReading()
	fmt.Fprintln(out, "server: the client does not read its replies; pause reading")
}

func (p *starttlsServer) ResumeWriting() {
	p.paused = false
	fmt.Fprintln(out, "server: the client caught up; resume")
	p.answer() // the lines held back; they may pause writing again
	if !p.paused {
		p.t.ResumeReading()
	}
}

// startTLS upgrades the connection from inside DataReceived. The
// client's handshake bytes are not data: they never reach DataReceived.
func (p *starttlsServer) startTLS() {
	p.lines.reset()
	if err := transport.StartTLS(p.ctx, p.t, p.config, transport.WithServerSide()); err != nil {
		// The transport is closed: ConnectionLost gets err.
		fmt.Fprintf(out, "server: StartTLS failed: %v\n", err)
		return
	}
	p.secure = true
	fmt.Fprintf(out, "server: TLS handshake done (%s)\n", describe(p.t))
}

func (p *starttlsServer) EOFReceived() bool {
	fmt.Fprintln(out, "server: < close_notify; close")
	return false
}

func (p *starttlsServer) ConnectionLost(err error) {
	fmt.Fprintf(out, "server: connection closed: %v\n", err)
	p.done()
}

// starttlsClient asks for STARTTLS, upgrades its side when the server
// says so, sends its lines encrypted and closes once each is answered.
type starttlsClient struct {
	adapters.BaseProtocol
	ctx      context.Context // bounds StartTLS's handshake
	config   *tls.Config
	t        transport.Transport
	lines    []string
	replies  lineBuffer
	answered int
	err      error // ConnectionLost's; read after done is closed
	done     chan struct{}
}

var _ adapters.Protocol = (*starttlsClient)(nil)

func (p *starttlsClient) ConnectionMade(t transport.Transport) {
	p.t = t
	peer, _ := t.ExtraInfo(transport.InfoPeername)
	fmt.Fprintf(out, "client: connected to %v (plain text)\n", peer)
}

func (p *starttlsClient) DataReceived(data []byte) {
	p.replies.add(data)
	for {
		line, ok, err := p.replies.next()
		if err != nil {
			fmt.Fprintf(out, "client: the server sent a line over %d bytes; close\n", maxLine)
			p.t.Close()
			return
		}
		if !ok {
			return
		}
		fmt.Fprintf(out, "client: < %s\n", line)
		switch {
		case line == "220 ready":
			send(p.t, "client", "STARTTLS")
		case line == "220 go ahead":
			p.startTLS()
			return
		case strings.HasPrefix(line, "250 "):
			if p.answered++; p.answered == len(p.lines) {
				fmt.Fprintln(out, "client: every line answered; close (close_notify)")
				p.t.Close()
			}
		default:
			fmt.Fprintln(out, "client: unexpected reply; close")
			p.t.Close()
		}
	}
}

// startTLS upgrades the client's side from inside DataReceived, then
// sends the lines, encrypted.
func (p *starttlsClient) startTLS() {
	p.replies.reset()
	if err := transport.StartTLS(p.ctx, p.t, p.config); err != nil {
		// The transport is closed: ConnectionLost gets err.
		fmt.Fprintf(out, "client: StartTLS failed: %v\n", err)
		return
	}
	fmt.Fprintf(out, "client: TLS handshake done (%s)\n", describe(p.t))
	if v, ok := p.t.ExtraInfo(transport.InfoPeercert); ok {
		fmt.Fprintf(out, "client: server certificate for %v\n", v.(*x509.Certificate).DNSNames)
	}
	for _, line := range p.lines {
		send(p.t, "client", line)
	}
}

func (p *starttlsClient) ConnectionLost(err error) {
	fmt.Fprintf(out, "client: connection closed: %v\n", err)
	p.err = err
	close(p.done)
}

func main() {
	mode := flag.String("mode", "both", "both, server or client")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on or connect to")
	caFile := flag.String("ca", "", "server: write the CA's certificate (PEM) here; client: trust the CA in this file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *mode, *addr, *caFile, flag.Args()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, mode, addr, caFile string, lines []string) error {
	if len(lines) == 0 {
		lines = defaultLines
	}
	switch mode {
	case "server":
		s, err := serve(ctx, addr, caFile)
		if err != nil {
			return err
		}
		<-ctx.Done()
		return s.close()
	case "client":
		config, err := trust(caFile)
		if err != nil {
			return err
		}
		return client(ctx, addr, config, lines)
	case "both":
		s, err := serve(ctx, addr, "")
		if err != nil {
			return err
		}
		err = client(ctx, s.srv.Addr().String(), &tls.Config{RootCAs: s.ca.Pool}, lines)
		return errors.Join(err, s.shutdown(ctx)) // the server side closes on its own
	}
	return fmt.Errorf("unknown -mode %q (want both, server or client)", mode)
}

// server is a plain TCP server whose connections upgrade on STARTTLS:
// its CA, its listener, Serve's result and the connections still open.
type server struct {
	ca     *certs.CA
	srv    *transport.Server
	served chan error
	conns  sync.WaitGroup // one per starttlsServer, until its ConnectionLost
}

// serve makes a CA and a server certificate for localhost and addr's
// host, writes the CA's certificate to caFile (unless it is empty), and
// serves starttlsServer protocols on addr, in plain text, in the
// background.
func serve(ctx context.Context, addr, caFile string) (*server, error) {
	ca, err := certs.NewCA()
	if err != nil {
		return nil, err
	}
	hosts := certs.ServeHosts(addr)
	cert, err := ca.Issue(certs.Leaf{Hosts: hosts})
	if err != nil {
		return nil, err
	}
	if caFile != "" {
		if err := ca.WriteCA(caFile); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "server: CA certificate written to %s\n", caFile)
	}
	srv, err := transport.Listen(ctx, "tcp", addr) // plain: TLS comes later
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "server: serving on %v\n", srv.Addr())
	config := &tls.Config{Certificates: []tls.Certificate{cert}}
	s := &server{ca: ca, srv: srv, served: make(chan error, 1)}
	go func() {
		s.served <- adapters.Serve(ctx, srv, func() *starttlsServer {
			s.conns.Add(1)
			return &starttlsServer{ctx: ctx, config: config, done: s.conns.Done}
		})
	}()
	return s, nil
}

// close aborts the server's connections and waits for its goroutines.
func (s *server) close() error { return s.wait(s.srv.Close()) }

// shutdown waits, bounded by ctx, for the connections to end on their
// own, then for the server's goroutines.
func (s *server) shutdown(ctx context.Context) error { return s.wait(s.srv.Shutdown(ctx)) }

// wait waits for the serving goroutines and returns err.
func (s *server) wait(err error) error {
	<-s.served
	s.conns.Wait()
	return err
}

// trust returns a client config that trusts the CA certificates in
// caFile.
func trust(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, errors.New("-mode client needs -ca FILE, the server's CA certificate (-mode server -ca FILE writes it)")
	}
	return certs.Trusting(caFile)
}

// client connects to addr in plain text, upgrades to TLS with config when
// the server agrees, and waits for the connection to close. StartTLS
// does not take the server's name from the address, as DialTLS does:
// the config must name it.
func client(ctx context.Context, addr string, config *tls.Config, lines []string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	config = config.Clone()
	config.ServerName = host
	t, p, err := adapters.Connect(ctx, "tcp", addr, func() *starttlsClient {
		return &starttlsClient{ctx: ctx, config: config, lines: lines, done: make(chan struct{})}
	})
	if err != nil {
		return err
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		t.Abort()
		<-p.done
		return ctx.Err()
	}
}

// Command tls-echo is the echo example (examples/echo) over TLS, written
// with rxnet's Protocol adapter: a transport.ListenTLS server served by
// adapters.Serve, and a client that connects with adapters.Connect and
// transport.WithTLS. The protocols are plain Protocols: TLS is only an
// option. A certificate authority and the server's certificate are made
// at start with crypto/x509 (internal/certs): no key or certificate is
// shipped.
//
// Run without flags, it starts the server on a free local port, runs the
// client against it and exits:
//
//	go run ./examples/tls-echo
//
// The client prints the negotiated TLS version and cipher suite, sends
// each argument as a line (two lines when there is none), prints the
// echo, and closes with a close_notify, which the server answers.
//
// The server bounds what it holds for each client: a line longer than
// maxLine (4 KiB) ends the connection, so its line buffer holds at most
// that plus one read, and while a client does not read its echo the
// server stops reading from it (PauseWriting, ResumeWriting), so its
// write buffer stays within the high-water mark plus one read.
//
// With -mode server it serves on -addr and writes its CA's certificate
// to the -ca file, which -mode client (or openssl s_client -CAfile)
// trusts:
//
//	go run ./examples/tls-echo -mode server -addr 127.0.0.1:8443 -ca /tmp/ca.pem
//	go run ./examples/tls-echo -mode client -addr 127.0.0.1:8443 -ca /tmp/ca.pem one two
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
var defaultLines = []string{"Hello World!", "Hello TLS!"}

// maxLine is the longest line either side accepts: a peer that sends a
// longer one (or no newline at all) is cut off, so that a line buffer
// holds at most maxLine bytes plus one read.
const maxLine = 4 << 10

// lines frames the byte stream into lines of at most maxLine bytes.
var lines = stream.Lines(maxLine)

// lineBuffer splits a byte stream into lines, bounded by maxLine.
type lineBuffer struct{ partial []byte }

// feed adds data and returns the lines it completed, without their
// newlines. It fails (with stream.ErrFrameTooLarge) once the buffer holds
// more than maxLine bytes without a newline.
func (b *lineBuffer) feed(data []byte) ([]string, error) {
	b.partial = append(b.partial, data...) // data is borrowed: copy it
	split := lines.SplitFunc()
	var out []string
	for {
		advance, line, err := split(b.partial, false)
		if err != nil {
			return out, err
		}
		if advance == 0 {
			return out, nil
		}
		out = append(out, string(line))
		b.partial = b.partial[advance:]
	}
}

// describe returns the TLS version and cipher suite t negotiated.
func describe(t transport.Transport) string {
	v, _ := t.ExtraInfo(transport.InfoCipher)
	c, _ := v.(transport.CipherInfo)
	return c.Version + ", " + c.Name
}

// echoServer sends back what it receives. At the client's close_notify
// (EOFReceived) it closes, answering with its own. It honours flow
// control: while the client does not read what it sends back, it stops
// reading (PauseWriting, ResumeWriting), and it cuts off a client that
// sends a line over maxLine bytes, so that a client that sends without a
// newline, or without reading, cannot grow its memory.
type echoServer struct {
	adapters.BaseProtocol
	t     transport.Transport
	lines lineBuffer
	peer  any
	done  func() // called by ConnectionLost
}

var _ adapters.Protocol = (*echoServer)(nil)

func (p *echoServer) ConnectionMade(t transport.Transport) {
	p.t = t
	p.peer, _ = t.ExtraInfo(transport.InfoPeername)
	fmt.Fprintf(out, "server: connection from %v (%s)\n", p.peer, describe(t))
}

func (p *echoServer) DataReceived(data []byte) {
	lines, err := p.lines.feed(data)
	if err != nil {
		fmt.Fprintf(out, "server: %v sent a line over %d bytes; close\n", p.peer, maxLine)
		p.t.Close()
		return
	}
	p.t.Write(data)
	for _, line := range lines {
		fmt.Fprintf(out, "server: echo %s\n", line)
	}
}

func (p *echoServer) PauseWriting() {
	p.t.PauseReading()
	fmt.Fprintf(out, "server: %v does not read its echo; pause reading\n", p.peer)
}

func (p *echoServer) ResumeWriting() {
	p.t.ResumeReading()
	fmt.Fprintf(out, "server: %v caught up; resume reading\n", p.peer)
}

func (p *echoServer) EOFReceived() bool {
	fmt.Fprintln(out, "server: the client sent close_notify; close")
	return false
}

func (p *echoServer) ConnectionLost(err error) {
	fmt.Fprintf(out, "server: connection from %v closed: %v\n", p.peer, err)
	p.done()
}

// echoClient sends its lines, prints the echo, and closes once every
// line came back.
type echoClient struct {
	adapters.BaseProtocol
	t     transport.Transport
	lines []string
	echo  lineBuffer
	got   int   // lines echoed
	err   error // ConnectionLost's; read after done is closed
	done  chan struct{}
}

var _ adapters.Protocol = (*echoClient)(nil)

func (p *echoClient) ConnectionMade(t transport.Transport) {
	p.t = t
	peer, _ := t.ExtraInfo(transport.InfoPeername)
	fmt.Fprintf(out, "client: connected to %v (%s)\n", peer, describe(t))
	if v, ok := t.ExtraInfo(transport.InfoPeercert); ok {
		fmt.Fprintf(out, "client: server certificate for %v, issued by %q\n",
			v.(*x509.Certificate).DNSNames, v.(*x509.Certificate).Issuer.CommonName)
	}
	for _, line := range p.lines {
		fmt.Fprintf(out, "client: send %s\n", line)
		t.Write([]byte(line + "\n"))
	}
}

func (p *echoClient) DataReceived(data []byte) {
	lines, err := p.echo.feed(data)
	if err != nil {
		fmt.Fprintf(out, "client: the server sent a line over %d bytes; close\n", maxLine)
		p.t.Close()
		return
	}
	for _, line := range lines {
		fmt.Fprintf(out, "client: received %s\n", line)
		if p.got++; p.got == len(p.lines) {
			fmt.Fprintln(out, "client: every line came back; close (close_notify)")
			p.t.Close()
		}
	}
}

func (p *echoClient) ConnectionLost(err error) {
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

// server is a TLS echo server: its CA, its listener, Serve's result and
// the connections still open.
type server struct {
	ca     *certs.CA
	srv    *transport.Server
	served chan error
	conns  sync.WaitGroup // one per echoServer, until its ConnectionLost
}

// serve makes a CA and a server certificate for localhost and addr's
// host, writes the CA's certificate to caFile (unless it is empty), and
// serves echoServer protocols on addr in the background.
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
	srv, err := transport.ListenTLS(ctx, "tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "server: serving on %v, certificate for %s\n", srv.Addr(), strings.Join(hosts, " "))
	s := &server{ca: ca, srv: srv, served: make(chan error, 1)}
	go func() {
		s.served <- adapters.Serve(ctx, srv, func() *echoServer {
			s.conns.Add(1)
			return &echoServer{done: s.conns.Done}
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

// client connects to addr over TLS with config, echoes lines and waits
// for the connection to close. A certificate config does not trust is
// Connect's error: the protocol never sees the connection.
func client(ctx context.Context, addr string, config *tls.Config, lines []string) error {
	t, p, err := adapters.Connect(ctx, "tcp", addr, func() *echoClient {
		return &echoClient{lines: lines, done: make(chan struct{})}
	}, transport.WithTLS(config))
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

package main

// The TLS echo matrix (-tls) measures rxnet's TLS transports against
// crypto/tls over a net.Conn, with the TCP matrix's machinery (rounds,
// server child processes, rusage, medians) and load client, whose
// connections are crypto/tls clients, every handshake done before the
// load starts.
//
// Servers (hidden from -modes without -tls):
//
//	tls-netconn   crypto/tls: a goroutine per connection, a tls.Conn
//	              Read/Write loop over a reused 64 KiB buffer, each
//	              accepted net.Conn wrapped by tls.Server as tls.Listen's
//	              Accept does (the baseline)
//	tls-protocol  transport.ListenTLS and adapters.Serve with the protocol
//	              mode's echoProtocol
//	tls-events    transport.ListenTLS and Accept, a goroutine per
//	              connection ranging over t.Events() as the events mode
//	              does
//
// The parent makes a CA and a certificate for 127.0.0.1 with
// internal/certs at start and writes them to a temporary directory: each
// server child loads the certificate (-tlscert, -tlskey) and the clients
// trust the CA. Both sides keep crypto/tls's defaults, so TLS 1.3 with
// the AES-GCM suite crypto/tls prefers.
//
// The idle pass (idleOne) runs too, its connections crypto/tls clients
// (tlsSetup.dialFrom), each handshaken before its one echo; its table adds
// the ratio to tls-netconn and the server's RSS per connection after a GC
// that returns the free memory to the OS, since the handshakes leave
// garbage up to the GC's heap goal. The flood pass, plain TCP's, does not
// run.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"time"

	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/transport"
)

// tlsBaseline is the mode every -tls ratio is taken against.
const tlsBaseline = "tls-netconn"

// tlsServers are the TLS echo servers, by mode name. init adds them to
// servers, so that the server child (-serve) finds them; checkTLS keeps
// them out of the other matrices and those modes out of a -tls run.
var tlsServers = map[string]serveFunc{
	"tls-netconn":  serveTLSNetConn,
	"tls-protocol": serveTLSProtocol,
	"tls-events":   serveTLSEvents,
}

// tlsModes is the default -tls matrix, baseline first.
var tlsModes = []string{"tls-netconn", "tls-protocol", "tls-events"}

func init() {
	for name, f := range tlsServers {
		servers[name] = f
	}
}

// serverTLS is the TLS servers' config: serverChild loads it from the
// -tlscert and -tlskey files before it starts a TLS server.
var serverTLS *tls.Config

// loadServerTLS sets serverTLS to a config serving the certificate in
// certFile and keyFile (PEM).
func loadServerTLS(certFile, keyFile string) error {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	serverTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	return nil
}

// checkTLS checks the modes and sizes against the kind of run: TLS modes
// with -tls, other modes without.
func checkTLS(c *config) error {
	if c.tls && (c.udp || c.lines) {
		return fmt.Errorf("-tls, -udp and -lines are separate matrices: give one")
	}
	return checkMatrix(c, matrix{
		flag: "-tls", on: c.tls, servers: tlsServers, modes: tlsModes,
		kind: "TLS echo", outside: "not a TLS echo mode", item: "message", min: 1, max: math.MaxInt,
	})
}

// needServerTLS returns serverTLS, or an error when the child has none.
func needServerTLS() (*tls.Config, error) {
	if serverTLS == nil {
		return nil, fmt.Errorf("a TLS mode needs -tlscert and -tlskey")
	}
	return serverTLS, nil
}

// serveTLSNetConn is the baseline: crypto/tls over the netconn mode's
// accept loop and echo loop.
func serveTLSNetConn(ctx context.Context, addr string) (net.Addr, error) {
	config, err := needServerTLS()
	if err != nil {
		return nil, err
	}
	return serveEachNetConn(ctx, addr, func(c net.Conn) { echoNetConn(tls.Server(c, config)) })
}

// serveTLSProtocol serves echoProtocol over transport.ListenTLS.
func serveTLSProtocol(ctx context.Context, addr string) (net.Addr, error) {
	config, err := needServerTLS()
	if err != nil {
		return nil, err
	}
	return serveEchoProtocol(ctx, addr, transport.WithTLS(config)) // ListenTLS is Listen with WithTLS
}

// serveTLSEvents runs echoEvents on every transport.ListenTLS transport.
func serveTLSEvents(ctx context.Context, addr string) (net.Addr, error) {
	config, err := needServerTLS()
	if err != nil {
		return nil, err
	}
	return acceptEach(ctx, addr, echoEvents, transport.WithTLS(config))
}

// tlsSetup is the parent's side of a -tls run: the server certificate's
// files for the children and the clients' config.
type tlsSetup struct {
	dir               string // holds the PEM files
	certFile, keyFile string
	client            *tls.Config
	negotiated        string // the version and suite of the last connections dialled
}

// newTLSSetup makes a CA and a server certificate for localhost and
// 127.0.0.1, writes them to a new temporary directory and returns the
// setup; close removes the directory.
func newTLSSetup() (*tlsSetup, error) {
	ca, err := certs.NewCA()
	if err != nil {
		return nil, err
	}
	server, client, err := ca.Localhost()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rxnet-bench-tls-")
	if err != nil {
		return nil, err
	}
	s := &tlsSetup{dir: dir, client: client}
	if _, s.certFile, s.keyFile, err = ca.WritePEM(dir, server.Certificates[0]); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// close removes the certificate's files.
func (s *tlsSetup) close() { os.RemoveAll(s.dir) }

// dial opens n TLS connections to addr, each handshaken, and notes what
// the first one negotiated.
func (s *tlsSetup) dial(addr string, n int) ([]net.Conn, error) {
	conns, err := dialEach(n, func() (net.Conn, error) { return s.dialOne(addr) })
	if err != nil {
		return nil, err
	}
	st := conns[0].(*tls.Conn).ConnectionState()
	s.negotiated = tls.VersionName(st.Version) + ", " + tls.CipherSuiteName(st.CipherSuite)
	return conns, nil
}

// dialOne opens one TLS connection to addr and does its handshake.
func (s *tlsSetup) dialOne(addr string) (net.Conn, error) { return s.dialFrom(nil, addr) }

// dialFrom opens one TLS connection to addr from the source address
// local (nil: any) and does its handshake (the idle pass's dial under
// -tls).
func (s *tlsSetup) dialFrom(local net.Addr, addr string) (net.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second, LocalAddr: local}, Config: s.client}
	return d.Dial("tcp", addr)
}

// reportTLS prints one table per message size for a -tls run, with the
// per-round figures.
func reportTLS(out io.Writer, res *results) {
	fmt.Fprintf(out, "\nTLS: %s\n", res.TLS)
	reportStream(out, res, tlsBaseline, "TLS echo", "messages", nil)
	reportIdle(out, res, tlsBaseline,
		// The handshakes leave garbage up to the GC's heap goal, resident
		// until the scavenger returns it: the server's VmRSS as it stops,
		// after a GC and FreeOSMemory, is what the connections hold.
		idleColumn{"after GC KiB/conn", "---:", func(r idleResult) string {
			if r.Stats.RSS == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", float64(r.Stats.RSS-r.Before)/1024/float64(r.Conns))
		}})
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"

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
	"netconn":  serveNetConn,
	"protocol": serveProtocol,
	"events":   serveEvents,
	"rx":       serveRx,
	"rw":       serveRW,
}

// allModes is the default matrix, baseline first.
var allModes = []string{"netconn", "protocol", "events", "rx", "rw"}

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
// net.Conn in its own goroutine, for the life of the server process.
func serveEachNetConn(ctx context.Context, addr string, echo func(net.Conn)) (net.Addr, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
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
// back.
type echoProtocol struct {
	adapters.BaseProtocol
	t transport.Transport
}

func (p *echoProtocol) ConnectionMade(t transport.Transport) { p.t = t }

func (p *echoProtocol) DataReceived(data []byte) { _, _ = p.t.Write(data) }

// serveProtocol serves echoProtocol through adapters.Serve.
func serveProtocol(ctx context.Context, addr string) (net.Addr, error) {
	return serveEchoProtocol(ctx, addr)
}

// serveEchoProtocol listens on addr with opts and serves echoProtocol
// through adapters.Serve.
func serveEchoProtocol(ctx context.Context, addr string, opts ...transport.Option) (net.Addr, error) {
	srv, err := transport.Listen(ctx, "tcp", addr, opts...)
	if err != nil {
		return nil, err
	}
	go adapters.Serve(ctx, srv, func() *echoProtocol { return &echoProtocol{} })
	return srv.Addr(), nil
}

// acceptEach listens on addr with opts and runs handle on its own
// goroutine for every accepted transport.
func acceptEach(ctx context.Context, addr string, handle func(context.Context, transport.Transport), opts ...transport.Option) (net.Addr, error) {
	srv, err := transport.Listen(ctx, "tcp", addr, opts...)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			t, err := srv.Accept(ctx)
			if err != nil {
				return
			}
			go handle(ctx, t)
		}
	}()
	return srv.Addr(), nil
}

// serveEvents ranges over each transport's event channel and writes every
// Data event back.
func serveEvents(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, echoEvents)
}

// echoEvents ranges over t's event channel and writes every Data event
// back.
func echoEvents(_ context.Context, t transport.Transport) {
	for ev := range t.Events() {
		if ev.Kind == stream.Data {
			_, _ = t.Write(ev.Data)
		}
	}
}

// serveRx observes each transport's events through an rxgo Map stage that
// extracts the payload, and writes the payloads back in the observer. The
// subscription's context is cancelled at the end, as docs/rx.md asks.
func serveRx(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, func(ctx context.Context, t transport.Transport) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		payloads := t.Observable().Map(func(_ context.Context, v any) (any, error) {
			return v.(stream.Event).Data, nil
		})
		for item := range payloads.Observe(rxgo.WithContext(ctx)) {
			if data, _ := item.V.([]byte); len(data) > 0 {
				_, _ = t.Write(data)
			}
		}
	})
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

// serverStats is the server child's last line on stdout: its Go runtime
// figures as it stops, with every connection still open.
type serverStats struct {
	Goroutines int
	NumGC      uint32
	TotalAlloc uint64 // bytes allocated over the process's life
	Mallocs    uint64 // objects allocated over the process's life
	HeapAlloc  uint64 // live heap (after a GC when -exitgc is given)
	HeapInuse  uint64
	StackInuse uint64
	Sys        uint64
	RSS        int64 // VmRSS, bytes (with -exitgc, once the free memory is returned to the OS); 0 if unknown
}

// readServerStats reads the server's figures; with gc, it first collects
// the garbage and returns the free memory to the OS, so that RSS is what
// the live heap, the stacks and the runtime hold.
func readServerStats(gc bool) serverStats {
	if gc {
		debug.FreeOSMemory() // a GC, then the scavenge
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := vmRSS(os.Getpid())
	return serverStats{
		RSS:        rss,
		Goroutines: runtime.NumGoroutine(),
		NumGC:      ms.NumGC,
		TotalAlloc: ms.TotalAlloc,
		Mallocs:    ms.Mallocs,
		HeapAlloc:  ms.HeapAlloc,
		HeapInuse:  ms.HeapInuse,
		StackInuse: ms.StackInuse,
		Sys:        ms.Sys,
	}
}

// childConfig is the server child's hidden flags.
type childConfig struct {
	mode, addr string
	cpuProfile string // CPU profile file
	memProfile string // heap profile file, written as the child stops
	memRate    int    // runtime.MemProfileRate, if not 0
	exitGC     bool   // collect garbage before the exit stats
	tlsCert    string // the TLS modes' certificate file (PEM)
	tlsKey     string // and its key's
}

// args returns the command-line flags that give c to a child.
func (c childConfig) args() []string {
	args := []string{"-serve", c.mode, "-addr", c.addr}
	if c.cpuProfile != "" {
		args = append(args, "-cpuprofile", c.cpuProfile)
	}
	if c.memProfile != "" {
		args = append(args, "-memprofile", c.memProfile)
	}
	if c.memRate != 0 {
		args = append(args, "-memprofilerate", strconv.Itoa(c.memRate))
	}
	if c.exitGC {
		args = append(args, "-exitgc")
	}
	if c.tlsCert != "" {
		args = append(args, "-tlscert", c.tlsCert, "-tlskey", c.tlsKey)
	}
	return args
}

// serverChild is the hidden -serve mode: it starts one echo server (or
// one of the flood pass's stalled servers), prints its address as the
// first line on stdout, and serves until its stdin is closed or it gets
// SIGTERM or SIGINT; then it stops the CPU profile, prints its
// serverStats as JSON, writes the heap profile, and returns (the process
// exits).
func serverChild(c childConfig) error {
	serve, ok := servers[c.mode]
	if !ok {
		serve, ok = stalledServers[c.mode]
	}
	if !ok {
		return fmt.Errorf("unknown mode %q (want one of %s)", c.mode, modeNames())
	}
	if _, err := raiseNoFile(); err != nil {
		fmt.Fprintln(os.Stderr, "bench server: raising the fd limit:", err)
	}
	if c.tlsCert != "" {
		if err := loadServerTLS(c.tlsCert, c.tlsKey); err != nil {
			return err
		}
	}
	if c.memRate != 0 {
		runtime.MemProfileRate = c.memRate
	}
	stopProfile := func() {}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		stopProfile = func() {
			pprof.StopCPUProfile()
			f.Close()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := serve(ctx, c.addr)
	if err != nil {
		stopProfile()
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, a.String())
	if err := out.Flush(); err != nil {
		stopProfile()
		return err
	}

	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	select {
	case <-done:
	case <-sigs:
	}
	stopProfile()
	b, err := json.Marshal(readServerStats(c.exitGC))
	if err != nil {
		return err
	}
	if c.memProfile != "" {
		if err := writeHeapProfile(c.memProfile); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "%s\n", b)
	return out.Flush()
}

func writeHeapProfile(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// hiddenFlags are the flags of the server child, left out of -help.
var hiddenFlags = map[string]bool{
	"serve": true, "addr": true, "cpuprofile": true, "memprofile": true, "memprofilerate": true, "exitgc": true,
	"tlscert": true, "tlskey": true,
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

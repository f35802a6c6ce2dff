package main

// The server child: every server under test runs in a process of its own
// (this binary, re-executed with the hidden -serve flag), so that its
// rusage, memory, goroutines and descriptors are its own.

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

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
	RSS        int64  // VmRSS, bytes (with -exitgc, once the free memory is returned to the OS); 0 if unknown
	Engine     string // RXNET_ENGINE as the child saw it ("" if unset; engine.go)

	Soak *soakCheck `json:",omitempty"` // with -soakcheck
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
		Engine:     os.Getenv(engineEnv),
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
	soak       bool   // check for leaks as the soak mode does (soak_server.go)
	engine     string // RXNET_ENGINE in the child's environment ("": the environment as it is); not a flag
}

// childFlags defines the server child's flags on fs, stored in c.
func childFlags(fs *flag.FlagSet, c *childConfig) {
	fs.StringVar(&c.mode, "serve", "", "run as the server child for this mode")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "the server child's address")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "the server child's CPU profile file")
	fs.StringVar(&c.memProfile, "memprofile", "", "the server child's heap profile file")
	fs.IntVar(&c.memRate, "memprofilerate", 0, "the server child's runtime.MemProfileRate")
	fs.BoolVar(&c.exitGC, "exitgc", false, "the server child collects garbage before its exit stats")
	fs.StringVar(&c.tlsCert, "tlscert", "", "the server child's TLS certificate file (PEM), for the TLS modes")
	fs.StringVar(&c.tlsKey, "tlskey", "", "the server child's TLS key file (PEM)")
	fs.BoolVar(&c.soak, "soakcheck", false, "the server child measures its baseline and checks for leaks as it stops")
}

// runChild parses a server child's flags from args and runs it; it
// returns the process's exit status. The tests' re-executed binary runs
// its children through it (main_test.go).
func runChild(args []string) int {
	var c childConfig
	fs := flag.NewFlagSet("bench server", flag.ContinueOnError)
	childFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := serverChild(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		return 1
	}
	return 0
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
	if c.soak {
		args = append(args, "-soakcheck")
	}
	return args
}

// serverChild is the hidden -serve mode: it starts one echo server (or
// one of the flood pass's stalled servers), prints its address as the
// first line on stdout, and serves until its stdin is closed or it gets
// SIGTERM or SIGINT, answering each line on its stdin with its figures
// then (a serverStats line: serverProc.snapshot); then it stops the CPU profile, prints its
// serverStats as JSON, writes the heap profile, and returns (the process
// exits). With -soakcheck it measures its baseline before it listens and,
// as it stops, lets the server settle and measures what was left behind
// (soak_server.go), in serverStats.Soak.
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
	stopProfile, err := startCPUProfile(c.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	// What ends the serving: stdin's end, or a signal. A soak's baseline
	// counts the signal handling's goroutine, and not the one that reads
	// stdin: that one ends with the stop (or is told apart after a
	// signal).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	var base soakSnapshot
	if c.soak {
		base = soakBaseline()
	}
	asks, done := make(chan struct{}), make(chan struct{})
	stopped := make(chan struct{}) // closed as the serving ends
	defer close(stopped)
	go readAsks(os.Stdin, asks, stopped, done)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := serve(ctx, c.addr)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, a.String())
	if err := out.Flush(); err != nil {
		return err
	}
	stdinOpen := serveAsks(out, asks, done, sigs)
	stopProfile()
	st := readServerStats(c.exitGC)
	if c.soak {
		rs, ok := a.(*rxServer)
		if !ok {
			return fmt.Errorf("mode %s is not served by a transport.Server: no soak check", c.mode)
		}
		base.Goroutines += stdinOpen
		st.Soak = soakSettle(rs, base)
	}
	b, err := json.Marshal(st)
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

// readAsks reads stdin's lines and sends one ask on asks for each, until
// stdin ends (it then closes done) or stopped is closed.
func readAsks(stdin io.Reader, asks chan<- struct{}, stopped <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	r := bufio.NewReader(stdin)
	for {
		if _, err := r.ReadBytes('\n'); err != nil {
			return
		}
		select {
		case asks <- struct{}{}:
		case <-stopped:
			return
		}
	}
}

// serveAsks answers every ask with a serverStats line on out (the
// figures now, with no GC first: serverProc.snapshot), until stdin ends
// (done) or a signal comes; it returns 1 if the goroutine reading stdin
// may still run (after a signal), else 0.
func serveAsks(out *bufio.Writer, asks <-chan struct{}, done <-chan struct{}, sigs <-chan os.Signal) (stdinOpen int) {
	for {
		select {
		case <-asks:
			b, err := json.Marshal(readServerStats(false))
			if err == nil {
				fmt.Fprintf(out, "%s\n", b)
				err = out.Flush()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench server: answering a stats ask:", err)
			}
		case <-done:
			return 0
		case <-sigs:
			return 1
		}
	}
}

// startCPUProfile starts a CPU profile into file, unless file is empty,
// and returns the function that stops it (at most once).
func startCPUProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
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

// serverProc is a running server child.
type serverProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	addr   string
}

// serverCommand returns the command that runs a server child with args:
// this binary, re-executed. The tests replace it (main_test.go).
var serverCommand = func(args []string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.Command(exe, args...), nil
}

// startServer re-executes this binary as the server child c, with
// RXNET_ENGINE set to c.engine if given, and waits for it to print its
// address.
func startServer(c childConfig) (*serverProc, error) {
	cmd, err := serverCommand(c.args())
	if err != nil {
		return nil, err
	}
	cmd.Env = withEngine(cmd.Env, c.engine)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProc{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout)}
	line, err := p.stdout.ReadString('\n')
	if err == nil {
		p.addr = strings.TrimSpace(line)
		_, _, err = net.SplitHostPort(p.addr)
	}
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("the %s server did not start: %w", c.mode, err)
	}
	return p, nil
}

// snapshot asks the server for its figures now (a line on its stdin, its
// serverStats line in answer), with no GC first. It must not be called
// after stop.
func (p *serverProc) snapshot() (serverStats, error) {
	var st serverStats
	if _, err := io.WriteString(p.stdin, "\n"); err != nil {
		return st, fmt.Errorf("asking the server for its stats: %w", err)
	}
	line, err := p.stdout.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &st)
	}
	if err != nil {
		return st, fmt.Errorf("reading the server's stats: %w", err)
	}
	return st, nil
}

// stop closes the server's stdin, which asks it to exit, reads the stats
// it prints, waits for it (killing it after 10 s) and returns its rusage.
func (p *serverProc) stop() (usage, serverStats, error) { return p.stopWithin(10 * time.Second) }

// stopWithin is stop, killing the server after limit.
func (p *serverProc) stopWithin(limit time.Duration) (usage, serverStats, error) {
	p.stdin.Close()
	done := make(chan error, 1)
	var st serverStats
	go func() {
		line, err := p.stdout.ReadBytes('\n')
		if err == nil {
			err = json.Unmarshal(line, &st)
		}
		_, _ = io.Copy(io.Discard, p.stdout)
		if werr := p.cmd.Wait(); werr != nil || err != nil {
			done <- cmp.Or(werr, fmt.Errorf("reading the server's stats: %w", err))
			return
		}
		done <- nil
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-done
		err = fmt.Errorf("the server did not exit within %v of its stdin closing; killed", limit)
	}
	if err != nil {
		return usage{}, st, err
	}
	u, err := childUsage(p.cmd.ProcessState)
	return u, st, err
}

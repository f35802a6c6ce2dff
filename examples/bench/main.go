// Command bench is rxnet's echo benchmark, the method DESIGN.md
// (Performance) describes: uvloop's echo benchmark, with a Go load client.
//
// For each round, each message size and each server mode in turn
// (interleaved: A B C A B C ...), bench starts a fresh server process (this
// same binary, re-executed with a hidden -serve flag), runs the load
// client in its own process against it over loopback TCP (-conns
// connections, each sending a -size-byte message and waiting for the
// whole echo, again and again, for -duration after a short warm-up), then
// stops the server and reads its rusage. It reports, per mode, the
// median over the rounds of:
//
//   - req/s, over the measured window;
//   - server CPU microseconds per request: the server's user+system time
//     over every request it served (the most stable figure on a shared
//     machine);
//   - the server's user time alone per request;
//   - p50 and p99 request latency, seen by the client;
//   - the server's peak RSS;
//   - the server's heap bytes allocated per request (runtime.MemStats),
//     over its life and over the measured window alone;
//   - the server's garbage collections per second over the measured
//     window (runtime.MemStats.NumGC: window.go);
//   - the server's minor page faults per request (rusage);
//
// with ratios to the netconn baseline of the same run. The load client
// and the servers share the machine's cores, so req/s is partly
// client-bound; CPU per request is the figure to compare.
//
// An idle pass (idle.go) follows the rounds: for each count of -idle (a
// list: -idle 10000,50000, the default) and each mode, a fresh server
// that the client opens that many connections to, with plain net.Conn
// (crypto/tls clients with -tls), echoing -idlesize bytes once on each so
// that the server has accepted and served every one. It reports, per
// mode and per count, the growth of the server's VmRSS per connection and
// its ratio to the baseline's at the same count, with the server's
// goroutines, stack (StackInuse) and live heap (after a GC) per
// connection, the RXNET_ENGINE the server saw, and the client's source
// addresses. On Linux the client spreads the connections round robin
// over source addresses 127.0.0.2, 127.0.0.3, ... (each dial bound to
// one, port 0), at most 5,000 on each (or half the ephemeral port range,
// /proc/sys/net/ipv4/ip_local_port_range, if less); the server listens
// on 127.0.0.1. Both processes raise RLIMIT_NOFILE's soft limit to its
// hard limit. A count that needs more descriptors than the hard limit
// allows in the server process (the count + 64) or in the client (the
// count + 64 + those it has open) is skipped, not shrunk: the output and
// the JSON (IdleSkipped) give the limit found and the descriptors needed,
// and the other counts run. -idle max is the largest count the limit
// allows (about 19,930 under a hard limit of 20,000); -idle 10000,max measures
// both. The server cannot be split over processes, and the client needs
// as many descriptors as the server under the same limit, so the client
// stays one process.
//
// With -engines (default goroutine,poll on Linux, goroutine elsewhere),
// each rxnet mode (protocol, events, rx, rw, the pooled ones, buffered,
// and the -udp, -lines and -tls ones other than their baselines) runs
// once per engine, as a mode
// of its own named MODE/ENGINE (protocol/goroutine, protocol/poll), its
// server child started with RXNET_ENGINE=ENGINE in its environment; the
// rounds interleave them with the others (netconn, protocol/goroutine,
// protocol/poll, events/goroutine, ...). The baselines run once, the
// environment as it is. Every server child reports the RXNET_ENGINE it
// saw, and the report prints it for every mode. -engines "" runs each
// mode once, unnamed, the environment as it is. The idle and flood
// passes run per engine too (stalled-protocol/poll, ...); the soak
// (-soak) does not: its children keep the environment as it is.
//
// A flood pass (flood.go) follows: for events, protocol, rx and
// events-pooled (those of -modes), a fresh server that claims each
// connection's events and then stalls (stalled-events and
// stalled-events-pooled take Made and never receive again,
// stalled-protocol calls PauseReading in ConnectionMade, stalled-rx takes
// the first item and never receives again). One plain net.Conn writes up
// to -flood bytes as fast as it can, until its writes make no progress
// for 1 s; the pass reports the server's VmRSS and VmHWM growth against
// DESIGN.md's bound, transport.DefaultReadLimit + 1 MiB.
//
// Server modes:
//
//	netconn   the standard library: a goroutine per connection, a
//	          read/write loop over a reused 64 KiB buffer (the baseline)
//	protocol  adapters.Serve with a Protocol whose DataReceived writes back
//	events    transport.Listen and Accept, a goroutine per connection
//	          ranging over t.Events() and writing each Data back
//	rx        t.Observable() with an rxgo Map stage, observed with a
//	          context cancelled at the end; the observer writes back
//	rw        io.CopyBuffer from adapters.NewReader to adapters.NewWriter
//
// and the pooled ones (pooled.go, issue 14), each its sibling over
// transports made with transport.WithPooledData, releasing each event
// (stream.Event.Release) once its bytes are written back:
//
//	events-pooled  events
//	rx-pooled      rx, its stage an rxgo Filter that passes the Data and
//	               EOF events on whole, so that the observer, which writes,
//	               releases them
//	rw-pooled      io.Copy from adapters.NewReader (which releases what it
//	               consumes; io.Copy uses its WriteTo) to adapters.NewWriter
//
// and buffered (buffered.go): adapters.Serve with an
// adapters.BufferedProtocol, asyncio's, whose GetBuffer returns its own
// reused 64 KiB buffer and whose BufferUpdated writes the bytes read back.
//
// Usage:
//
//	go run ./examples/bench                       # 1 KiB, 100 conns, 3 rounds x 3s
//	go run ./examples/bench -rounds 5
//	go run ./examples/bench -size 102400 -idle 0 -flood 0  # 100 KiB messages
//	go run ./examples/bench -duration 1s -rounds 1 -idle 1000 -modes netconn,protocol
//	go run ./examples/bench -rounds 1 -duration 1s -idle 10000 -modes netconn,protocol -flood 0
//	go run ./examples/bench -idle 10000,max -flood 0    # the largest count the fd limit allows
//	go run ./examples/bench -pprof /tmp/prof -modes protocol
//
// With -udp, bench runs the UDP echo matrix instead (udp.go): the modes
// udpconn (the baseline, a *net.UDPConn loop), udp-protocol
// (adapters.ListenDatagram), udp-events (ranging over a
// transport.ListenPacket endpoint's events) and udp-events-pooled
// (udp-events with transport.WithPooledData), loaded by -conns connected
// UDP sockets that each send a -size-byte datagram and wait for its echo,
// counting the datagrams whose echo does not come back as lost. The idle
// and flood passes, which are TCP's, do not run (-engines applies):
//
//	go run ./examples/bench -udp -rounds 5 -size 64,1024
//
// With -lines, bench runs the line-echo matrix instead (rxlines.go): each
// message is one -size-byte line ending in '\n', and the modes are
// lines-netconn (the baseline, a bufio.Scanner over a net.Conn), lines-rx
// (stream.Lines framing a transport's Observable), lines-chan
// (stream.Lines framing its event channel) and lines-pooled (lines-chan
// with transport.WithPooledData); no idle or flood pass:
//
//	go run ./examples/bench -lines -rounds 5 -size 64,1024
//
// With -tls, bench runs the TLS echo matrix instead (tls.go): the TCP
// load over crypto/tls client connections, each handshaken before the
// load, against tls-netconn (the baseline, crypto/tls's tls.Conn in the
// netconn loop), tls-protocol (adapters.Serve over transport.ListenTLS)
// and tls-events (ranging over a transport.ListenTLS transport's
// events), with a certificate made at start by internal/certs. The idle
// pass runs over TLS (-idle crypto/tls clients, each handshaken before
// its one echo), and also reports the server's RSS after a GC that
// returns the handshakes' garbage to the OS; no flood pass:
//
//	go run ./examples/bench -tls -rounds 5 -size 64,1024,16384
//
// With -sendfile, bench runs the sendfile pass instead (sendfile.go):
// transport.SendFile against io.Copy from the file to a *net.TCPConn,
// one -filesize file per mode per round, interleaved, over loopback TCP:
//
//	go run ./examples/bench -sendfile -rounds 9
//
// With -soak DURATION, bench runs the soak instead (soak.go): one server
// child per mode (protocol, events, rx and tls-protocol by default), each
// churned by -conns/len(modes) clients that open connections, echo,
// stall, flood, and end them with a close, a half-close or a reset, at
// random (-seed); at the end each child shuts its server down and checks
// that its goroutines, descriptors and live heap are back to what they
// were before it listened, and that every closed transport was freed.
// The exit status is 1 when something was left behind:
//
//	go run ./examples/bench -soak 10m -conns 40 -seed 1
//
// -pprof DIR writes, for every server process, a CPU profile and a heap
// profile (allocations over the run; for the idle and flood passes, what
// is live with every connection open) to DIR; inspect them with go tool pprof. -json
// FILE writes every measurement as JSON. The server child's flags
// (-serve MODE -addr HOST:PORT, -cpuprofile FILE, ...) are left out of
// -help; `bench -serve protocol -addr 127.0.0.1:9000` runs one server on
// its own until its stdin closes, printing its runtime figures as JSON
// for each line it reads there.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// config is the benchmark's flags.
type config struct {
	conns    int
	sizes    []int
	duration time.Duration
	warmup   time.Duration
	rounds   int
	modes    []string // the modes measured, each rxnet mode once per engine (expandModes)
	engines  []string // -engines
	idle     []int    // the idle pass's counts
	idleSize int
	flood    int64
	pprofDir string
	jsonFile string
	udp      bool // the UDP echo matrix (udp.go)
	lines    bool // the line-echo matrix (rxlines.go)
	tls      bool // the TLS echo matrix (tls.go)

	tlsSetup *tlsSetup // with tls: the certificate and the clients' config, made by run
}

func main() {
	var child childConfig
	childFlags(flag.CommandLine, &child)

	conns := flag.Int("conns", 100, "client connections")
	sizes := flag.String("size", "1024", "message size in bytes; a comma-separated list gives one table per size")
	duration := flag.Duration("duration", 3*time.Second, "measured time per run")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "unmeasured load before each run's measured time")
	rounds := flag.Int("rounds", 3, "rounds over the whole matrix (medians are taken over them)")
	modes := flag.String("modes", strings.Join(allModes, ","), "comma-separated server modes; netconn is the baseline of the ratios")
	idle := flag.String("idle", "10000,50000", "comma-separated connection counts of the idle-memory pass, TLS ones with -tls; max is the largest the fd limit allows; a count over it is skipped, with the reason (0 skips the pass)")
	engines := flag.String("engines", defaultEngines(), "comma-separated rxnet engines ("+strings.Join(knownEngines, ", ")+"): each rxnet mode runs once per engine, as MODE/ENGINE, its server child with "+engineEnv+"=ENGINE; the baselines run once; empty runs each mode once, the environment as it is")
	idleSize := flag.Int("idlesize", 1024, "bytes echoed once on each idle connection")
	floodBytes := flag.Int64("flood", 100<<20, "bytes the flood pass's peer tries to write to each stalled server (0 skips the pass)")
	pprofDir := flag.String("pprof", "", "write CPU and heap profiles of each server process to this directory")
	jsonFile := flag.String("json", "", "also write every measurement as JSON to this file")
	udp := flag.Bool("udp", false, "run the UDP echo matrix (modes "+strings.Join(udpModes, ",")+") instead of TCP's; no idle or flood pass")
	lines := flag.Bool("lines", false, "run the line-echo matrix (modes "+strings.Join(linesModes, ",")+") instead; no idle or flood pass")
	tlsFlag := flag.Bool("tls", false, "run the TLS echo matrix (modes "+strings.Join(tlsModes, ",")+") instead; its idle pass is over TLS, no flood pass")
	soak := flag.Duration("soak", 0, "run the soak instead (soak.go) for this long: -conns connections in all churned against the servers of -modes (default "+strings.Join(soakModes, ",")+"); exit status 1 if anything leaked")
	seed := flag.Uint64("seed", 0, "the soak's random seed (0 picks one; it is printed)")
	sendfile := flag.Bool("sendfile", false, "run the sendfile pass instead (sendfile.go): transport.SendFile against io.Copy to a net.Conn, -filesize bytes, -rounds rounds")
	fileSize := flag.Int64("filesize", 256<<20, "bytes of the sendfile pass's file")
	flag.Usage = printUsage
	flag.Parse()

	if child.mode != "" {
		if err := serverChild(child); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		return
	}
	if *soak != 0 {
		if !isFlagSet("modes") {
			*modes = strings.Join(soakModes, ",")
		}
		os.Exit(soakMain(soakConfig{duration: *soak, conns: *conns, seed: *seed, modes: splitModes(*modes), jsonFile: *jsonFile, pprofDir: *pprofDir}))
	}

	if *sendfile {
		os.Exit(sendfileMain(*fileSize, *rounds, os.Stdout))
	}

	cfg := config{
		conns: *conns, duration: *duration, warmup: *warmup, rounds: *rounds,
		idleSize: *idleSize, flood: *floodBytes, pprofDir: *pprofDir, jsonFile: *jsonFile,
		udp: *udp, lines: *lines, tls: *tlsFlag,
	}
	if m := cfg.matrixModes(); m != nil {
		cfg.flood = 0 // the flood pass is plain TCP's
		if !cfg.tls {
			*idle = "0" // -udp and -lines have no idle pass
		}
		if !isFlagSet("modes") {
			*modes = strings.Join(m, ",")
		}
	}
	limits, err := currentFDLimits()
	if err == nil {
		cfg.sizes, err = parseSizes(*sizes)
	}
	if err == nil {
		cfg.idle, err = parseIdle(*idle, limits.max())
	}
	if err == nil {
		cfg.modes, err = parseModes(*modes)
	}
	if err == nil {
		err = cfg.check()
	}
	if err == nil {
		cfg.engines, err = parseEngines(*engines)
		cfg.modes = expandModes(cfg.modes, cfg.engines)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		flag.Usage()
		os.Exit(2)
	}
	if err := run(cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// soakMain runs a soak and returns the exit status: 0 when nothing was
// left behind, 1 when something was or the soak failed, 2 for bad flags.
func soakMain(cfg soakConfig) int {
	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		flag.Usage()
		return 2
	}
	res, err := runSoak(cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if !res.OK() {
		return 1
	}
	return 0
}

// isFlagSet reports whether the command line gave the flag name.
func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad -size %q", f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// splitModes splits a comma-separated list of modes.
func splitModes(s string) []string {
	var modes []string
	for f := range strings.SplitSeq(s, ",") {
		modes = append(modes, strings.TrimSpace(f))
	}
	return modes
}

func parseModes(s string) ([]string, error) {
	var modes []string
	for _, f := range splitModes(s) {
		if _, ok := servers[f]; !ok {
			return nil, fmt.Errorf("unknown mode %q (want some of %s)", f, modeNames())
		}
		modes = append(modes, f)
	}
	return modes, nil
}

func (c *config) check() error {
	switch {
	case c.conns <= 0:
		return errors.New("-conns must be positive")
	case c.rounds <= 0:
		return errors.New("-rounds must be positive")
	case c.duration <= 0:
		return errors.New("-duration must be positive")
	case c.warmup < 0:
		return errors.New("-warmup must not be negative")
	case c.idleSize <= 0:
		return errors.New("-idlesize must be positive")
	case c.flood < 0:
		return errors.New("-flood must not be negative")
	}
	if err := checkTLS(c); err != nil {
		return err
	}
	if err := checkLines(c); err != nil {
		return err
	}
	return checkUDP(c)
}

// results is everything one invocation measured.
type results struct {
	Command string
	Machine machine
	LoadEnd string // /proc/loadavg at the end
	Config  struct {
		Conns    int
		Sizes    []int
		Duration string
		Warmup   string
		Rounds   int
		Modes    []string // as measured: an rxnet mode once per engine, MODE/ENGINE
		Engines  []string
		Idle     []int
		IdleSize int
		Flood    int64
		UDP      bool
		Lines    bool
		TLS      bool
	}
	TLS         string // with -tls: the negotiated version and cipher suite
	Runs        []runResult
	Idle        []idleResult
	IdleSkipped []idleSkip // the idle counts over the descriptor limit
	Flood       []floodResult
}

// runResult is one server process under load.
type runResult struct {
	Mode       string
	Size       int
	Round      int
	ReqPerSec  float64
	CPUPerReq  float64 // server user+system µs per request
	UserPerReq float64 // server user µs per request
	P50, P99   time.Duration
	MaxRSS     int64 // server peak RSS, bytes
	Requests   int64 // every request the server answered
	ServerCPU  time.Duration
	ClientCPU  time.Duration // the load client's CPU over the same run

	AllocPerReq   float64 // server heap bytes allocated per request
	MallocsPerReq float64 // server heap objects allocated per request
	NumGC         uint32  // server garbage collections, over the process's life
	FaultsPerReq  float64 // server minor page faults per request (rusage)

	// The server's figures over the measured window alone (window.go):
	// its garbage collections, those per second, and its heap bytes
	// allocated per request measured.
	WindowGCs         uint32
	GCPerSec          float64
	WindowAllocPerReq float64

	Engine string // RXNET_ENGINE as the server child saw it ("" if unset)

	Lost int64 // UDP: datagrams whose echo did not come back (udpLoad)
	Late int64 // UDP: echoes that came after their datagram was counted lost
}

func run(cfg config, out io.Writer) error {
	if _, err := raiseNoFile(); err != nil {
		return fmt.Errorf("raising the fd limit: %w", err)
	}
	limits, err := currentFDLimits()
	if err != nil {
		return fmt.Errorf("reading the fd limit: %w", err)
	}
	if cfg.pprofDir != "" {
		if err := os.MkdirAll(cfg.pprofDir, 0o755); err != nil {
			return err
		}
	}
	if cfg.tls {
		if cfg.tlsSetup, err = newTLSSetup(); err != nil {
			return fmt.Errorf("making the TLS certificate: %w", err)
		}
		defer cfg.tlsSetup.close()
	}

	var res results
	res.Command = commandLine()
	res.Machine = describeMachine()
	res.Config.Conns, res.Config.Sizes, res.Config.Rounds = cfg.conns, cfg.sizes, cfg.rounds
	res.Config.Duration, res.Config.Warmup = cfg.duration.String(), cfg.warmup.String()
	res.Config.Modes, res.Config.Engines, res.Config.Idle, res.Config.IdleSize = cfg.modes, cfg.engines, cfg.idle, cfg.idleSize
	res.Config.Flood, res.Config.UDP, res.Config.Lines, res.Config.TLS = cfg.flood, cfg.udp, cfg.lines, cfg.tls
	fmt.Fprintf(out, "command: %s\n", res.Command)
	m := res.Machine
	fmt.Fprintf(out, "machine: %s %s/%s, %d CPUs (%s), Linux %s, load average %s at start\n",
		m.GoVersion, m.OS, m.Arch, m.CPUs, m.CPUModel, m.Kernel, m.LoadAvg)

	for round := 1; round <= cfg.rounds; round++ {
		for _, size := range cfg.sizes {
			for _, mode := range cfg.modes {
				r, err := runOne(cfg, mode, size, round)
				if err != nil {
					return fmt.Errorf("round %d, %s, %d bytes: %w", round, mode, size, err)
				}
				fmt.Fprintf(os.Stderr, "round %d/%d %6d B %-20s %9.0f req/s %7.1f µs/req CPU  p50 %-9v p99 %-9v RSS %5.1f MiB\n",
					round, cfg.rounds, size, mode, r.ReqPerSec, r.CPUPerReq,
					r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), mib(r.MaxRSS))
				res.Runs = append(res.Runs, r)
			}
		}
	}
	if err := runIdle(cfg, limits, &res); err != nil {
		return err
	}
	if cfg.flood > 0 {
		for _, mode := range floodModes(cfg.modes) {
			r, err := floodOne(cfg, mode)
			if err != nil {
				return fmt.Errorf("flood pass, %s: %w", mode, err)
			}
			fmt.Fprintf(os.Stderr, "flood %-26s wrote %s (stalled %v): RSS %.1f MiB +%.0f KiB, peak +%.0f KiB\n",
				mode, sizeMiB(r.Written), r.Stalled, mib(r.Before), kib(r.After-r.Before), kib(r.Growth()))
			res.Flood = append(res.Flood, r)
		}
	}
	res.LoadEnd = loadAvg()
	if cfg.tls {
		res.TLS = cfg.tlsSetup.negotiated
	}

	report(out, &res)
	if cfg.jsonFile != "" {
		b, err := json.MarshalIndent(&res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.jsonFile, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runOne measures one mode at one size in a fresh server process.
func runOne(cfg config, mode string, size, round int) (runResult, error) {
	child := cfg.child(mode)
	if cfg.pprofDir != "" {
		name := filepath.Join(cfg.pprofDir, fmt.Sprintf("%s-%d-r%d", fileMode(mode), size, round))
		child.cpuProfile, child.memProfile = name+".cpu.pprof", name+".heap.pprof"
	}
	dial := dialAll
	switch {
	case cfg.udp:
		dial = dialUDP
	case cfg.tls:
		dial = cfg.tlsSetup.dial
	}
	srv, err := startServer(child)
	if err != nil {
		return runResult{}, err
	}
	conns, err := dial(srv.addr, cfg.conns)
	if err != nil {
		srv.stop()
		return runResult{}, err
	}
	before := selfUsage()
	var load loadResult
	var udp udpLoad
	var win window
	switch {
	case cfg.udp:
		udp, err = runUDPLoad(conns, size, cfg.warmup, cfg.duration, udpTimeout, win.mark(srv))
		load = udp.loadResult
	case cfg.lines:
		load, err = runLoad(conns, lineMessage(size), cfg.warmup, cfg.duration, win.mark(srv))
	default:
		load, err = runLoad(conns, echoMessage(size), cfg.warmup, cfg.duration, win.mark(srv))
	}
	client := selfUsage().CPU - before.CPU
	if err == nil {
		err = win.err
	}
	// Stop the server before closing the client's side, so that the
	// server's rusage holds the load only.
	su, st, serr := srv.stop()
	closeAll(conns)
	if err != nil {
		return runResult{}, err
	}
	if serr != nil {
		return runResult{}, serr
	}
	n := float64(load.Total)
	r := runResult{
		Mode:          mode,
		Size:          size,
		Round:         round,
		ReqPerSec:     float64(load.Measured) / load.Window.Seconds(),
		CPUPerReq:     float64(su.CPU.Microseconds()) / n,
		UserPerReq:    float64(su.User.Microseconds()) / n,
		P50:           load.P50,
		P99:           load.P99,
		MaxRSS:        su.MaxRSS,
		Requests:      load.Total,
		ServerCPU:     su.CPU,
		ClientCPU:     client,
		AllocPerReq:   float64(st.TotalAlloc) / n,
		MallocsPerReq: float64(st.Mallocs) / n,
		NumGC:         st.NumGC,
		FaultsPerReq:  float64(su.MinFlt) / n,
		Engine:        st.Engine,
		Lost:          udp.Lost,
		Late:          udp.Late,
	}
	win.fill(&r, load.Measured)
	return r, nil
}

// child returns the server child's config for a measured mode (MODE or
// MODE/ENGINE): with -tls, it serves the run's certificate.
func (c *config) child(mode string) childConfig {
	server, engine := splitEngine(mode)
	child := childConfig{mode: server, engine: engine, addr: "127.0.0.1:0"}
	if c.tls {
		child.tlsCert, child.tlsKey = c.tlsSetup.certFile, c.tlsSetup.keyFile
	}
	return child
}

// commandLine is the command that reproduces this run.
func commandLine() string {
	parts := []string{"go", "run", "./examples/bench"}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

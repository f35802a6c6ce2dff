package main

// The soak mode (-soak DURATION) looks for what the echo benchmark cannot
// see: resources that outlive their connections. It starts one server
// child per mode (protocol, events, rx and tls-protocol by default; each
// with -soakcheck, soak_server.go), then churns -conns client
// connections, split evenly among the servers, for DURATION: each worker
// opens a connection, runs random echoes, stalls and floods on it, and
// ends it with a close, a half-close or a reset (soak_client.go), again
// and again. The randomness is seeded (-seed, printed; 0 picks one).
//
// At the end it stops the churn, closes every client connection, and asks
// each server child to stop: the child shuts its server down
// (Server.Shutdown: every transport has closed its descriptor), waits for
// its serving goroutines, collects the garbage and compares its
// goroutines, open descriptors and live heap with its baseline from
// before it listened. The soak prints what the clients did, what each
// server counted, its peak RSS and what was left behind, and fails (exit
// status 1) when anything was left, a transport never closed, or a client
// saw an error (a wrong echo, a connection that stopped answering for
// soakOpTimeout, a server that died).
//
//	go run ./examples/bench -soak 10m -conns 100 -seed 1

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// soakModes are the servers a soak churns by default: each rxnet
// consumer kind, and one over TLS.
var soakModes = []string{"protocol", "events", "rx", "tls-protocol"}

// soakable are the modes a soak can churn: those served by an rxServer
// that echo every byte (the lines modes echo lines only).
var soakable = []string{"protocol", "events", "rx", "rw", "events-pooled", "rx-pooled", "rw-pooled", "buffered", "tls-protocol", "tls-events"}

// soakProgressEvery is how often a soak prints its counts to stderr.
const soakProgressEvery = 30 * time.Second

// soakConfig is a soak's flags.
type soakConfig struct {
	duration time.Duration
	conns    int // client connections in all, split evenly among the modes
	seed     uint64
	modes    []string
	jsonFile string
	pprofDir string // with it, each server child writes a heap profile of what it holds after the settle
}

// check validates c, picking a seed when it has none.
func (c *soakConfig) check() error {
	switch {
	case c.duration <= 0:
		return errors.New("-soak must be positive")
	case len(c.modes) == 0:
		return errors.New("-soak needs at least one mode")
	case c.conns < len(c.modes):
		return fmt.Errorf("-conns %d: a soak needs at least one connection per server (%d)", c.conns, len(c.modes))
	}
	for _, m := range c.modes {
		if !slices.Contains(soakable, m) {
			return fmt.Errorf("mode %s cannot be soaked; the soak's modes are %s", m, strings.Join(soakable, ", "))
		}
	}
	if c.seed == 0 {
		c.seed = rand.Uint64()
	}
	return nil
}

// soakServerResult is what one server of a soak did and left.
type soakServerResult struct {
	Mode    string
	Conns   int       // its concurrent client connections
	Clients soakTally // what its clients did
	Check   *soakCheck
	Err     string // the server child's failure, if any
}

// ok reports whether the server ran through and left nothing behind, and
// its clients saw no error.
func (r *soakServerResult) ok() bool {
	return r.Err == "" && r.Check != nil && !r.Check.Leaked() && r.Clients.Errors == 0
}

// soakResult is a whole soak.
type soakResult struct {
	Command  string
	Machine  machine
	LoadEnd  string
	Seed     uint64
	Duration string
	Conns    int
	Servers  []soakServerResult
}

// OK reports whether every server passed.
func (r *soakResult) OK() bool {
	for i := range r.Servers {
		if !r.Servers[i].ok() {
			return false
		}
	}
	return len(r.Servers) > 0
}

// soakServer is one server of a running soak: its child process and its
// clients.
type soakServer struct {
	mode    string
	proc    *serverProc
	counts  soakCounts
	conns   connSet
	workers sync.WaitGroup
	n       int
}

// runSoak runs the soak cfg describes, printing its progress to stderr
// and its report to out. The error is the soak's failure to run; what it
// found is in the result (OK).
func runSoak(cfg soakConfig, out io.Writer) (*soakResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if _, err := raiseNoFile(); err != nil {
		return nil, fmt.Errorf("raising the fd limit: %w", err)
	}
	res := &soakResult{Command: commandLine(), Machine: describeMachine(), Seed: cfg.seed,
		Duration: cfg.duration.String(), Conns: cfg.conns}
	fmt.Fprintf(out, "command: %s\n", res.Command)
	fmt.Fprintf(out, "soak: %v, seed %d, %d connections against %s\n",
		cfg.duration, cfg.seed, cfg.conns, strings.Join(cfg.modes, ", "))

	var setup *tlsSetup
	if slices.ContainsFunc(cfg.modes, func(m string) bool { return tlsServers[m] != nil }) {
		var err error
		if setup, err = newTLSSetup(); err != nil {
			return nil, fmt.Errorf("making the TLS certificate: %w", err)
		}
		defer setup.close()
	}
	servers, err := startSoakServers(cfg, setup)
	if err != nil {
		return nil, err
	}
	for i, s := range servers {
		for j := range s.n {
			w := &soakWorker{rng: rand.New(rand.NewPCG(cfg.seed, uint64(i)<<32|uint64(j))),
				dial: soakDialer(s.proc.addr, s.mode, setup), counts: &s.counts, conns: &s.conns}
			s.workers.Go(w.run)
		}
	}
	churn(servers, cfg.duration)
	for _, s := range servers {
		s.conns.stop()
	}
	for _, s := range servers {
		s.workers.Wait()
	}
	res.Servers = stopSoakServers(servers)
	res.LoadEnd = loadAvg()
	reportSoak(out, res)
	if cfg.jsonFile != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return res, err
		}
		if err := os.WriteFile(cfg.jsonFile, append(b, '\n'), 0o644); err != nil {
			return res, err
		}
	}
	return res, nil
}

// startSoakServers starts one server child per mode, each checking for
// leaks, and shares the connections among them.
func startSoakServers(cfg soakConfig, setup *tlsSetup) ([]*soakServer, error) {
	var servers []*soakServer
	for i, mode := range cfg.modes {
		child := childConfig{mode: mode, addr: "127.0.0.1:0", soak: true}
		if cfg.pprofDir != "" {
			if err := os.MkdirAll(cfg.pprofDir, 0o755); err != nil {
				return nil, err
			}
			child.memProfile = filepath.Join(cfg.pprofDir, "soak-"+mode+".heap.pprof")
			child.memRate = 4096
		}
		if tlsServers[mode] != nil {
			child.tlsCert, child.tlsKey = setup.certFile, setup.keyFile
		}
		p, err := startServer(child)
		if err != nil {
			for _, s := range servers {
				s.proc.stop()
			}
			return nil, err
		}
		n := cfg.conns / len(cfg.modes)
		if i < cfg.conns%len(cfg.modes) {
			n++
		}
		servers = append(servers, &soakServer{mode: mode, proc: p, n: n})
	}
	return servers, nil
}

// soakDialer returns how a soak's workers connect to addr: plain TCP, or
// a TLS client handshaken with setup's CA for a TLS mode.
func soakDialer(addr, mode string, setup *tlsSetup) func() (net.Conn, error) {
	if tlsServers[mode] != nil {
		return func() (net.Conn, error) { return setup.dialOne(addr) }
	}
	return func() (net.Conn, error) { return dialTCP(nil, addr) }
}

// churn lets the workers run for d, printing their counts to stderr every
// soakProgressEvery.
func churn(servers []*soakServer, d time.Duration) {
	start := time.Now()
	end := time.NewTimer(d)
	defer end.Stop()
	tick := time.NewTicker(soakProgressEvery)
	defer tick.Stop()
	for {
		select {
		case <-end.C:
			return
		case <-tick.C:
			for _, s := range servers {
				t := s.counts.tally()
				fmt.Fprintf(os.Stderr, "soak %v %-12s %d conns: %d resets, %d half-closes, %d stalls, %d floods, %d errors\n",
					time.Since(start).Round(time.Second), s.mode, t.Dialled, t.Resets, t.HalfCloses, t.Stalls, t.Floods, t.Errors)
			}
		}
	}
}

// stopSoakServers asks every server child to settle and report, at once,
// and returns what each did and left.
func stopSoakServers(servers []*soakServer) []soakServerResult {
	results := make([]soakServerResult, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() {
			r := soakServerResult{Mode: s.mode, Conns: s.n, Clients: s.counts.tally()}
			_, st, err := s.proc.stopWithin(soakSettleTimeout + soakExitGrace + 30*time.Second)
			switch {
			case err != nil:
				r.Err = err.Error()
			case st.Soak == nil:
				r.Err = "the server child reported no soak check"
			}
			r.Check = st.Soak
			results[i] = r
		})
	}
	wg.Wait()
	return results
}

// reportSoak prints a soak's tables, its errors and the stacks of the
// goroutines left behind.
func reportSoak(out io.Writer, res *soakResult) {
	fmt.Fprintf(out, "\n### Soak: %s, seed %d, %d client connections\n\n", res.Duration, res.Seed, res.Conns)
	fmt.Fprintln(out, "| server | conns | connections (clients / server accepted) | resets | half-closes | closes | stalls | floods | echoes | echoed MiB | client errors |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range res.Servers {
		c, accepted := r.Clients, "-"
		if r.Check != nil {
			accepted = fmt.Sprint(r.Check.Server.Accepted)
			if n := r.Check.Server.HandshakeFailures; n > 0 { // a reset before the server's handshake ended
				accepted += fmt.Sprintf(" + %d failed handshakes", n)
			}
		}
		fmt.Fprintf(out, "| %s | %d | %d / %s | %d | %d | %d | %d | %d | %d | %.0f | %d |\n",
			r.Mode, r.Conns, c.Dialled, accepted, c.Resets, c.HalfCloses, c.Closes, c.Stalls, c.Floods, c.Echoes,
			mib(c.BytesEchoed), c.Errors)
	}
	fmt.Fprintln(out, "\n| server | peak RSS MiB | write pauses | read pauses | peak write buffer KiB | transports still reachable | goroutines left (before → after) | fds left (before → after) | live heap delta KiB | left behind |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, r := range res.Servers {
		c := r.Check
		if c == nil {
			fmt.Fprintf(out, "| %s | - | - | - | - | - | - | - | - | the server failed: %s |\n", r.Mode, r.Err)
			continue
		}
		g, fds, heap := c.Leaks()
		st := c.Server.Transports
		fmt.Fprintf(out, "| %s | %.1f | %d | %d | %.0f | %d of %d | %d (%d → %d) | %d (%d → %d) | %+.0f | %s |\n",
			r.Mode, mib(c.PeakRSS), st.WritePauses, st.ReadPauses, kib(int64(st.PeakWriteBuffer)), c.Held, c.Watched,
			g, c.Baseline.Goroutines, c.Final.Goroutines, fds, c.Baseline.FDs, c.Final.FDs, kib(heap), verdict(c))
	}
	fmt.Fprintf(out, "\nLeft behind is measured in each server child after Server.Shutdown and two GCs, against its\n")
	fmt.Fprintf(out, "state before it listened; the live heap may grow by %d KiB (the server's own objects). A\n", soakHeapTolerance>>10)
	fmt.Fprintf(out, "transport still reachable is one the garbage collector could not free after it closed.\n")
	for _, r := range res.Servers {
		for _, e := range r.Clients.FirstErrors {
			fmt.Fprintf(out, "%s: client error: %s\n", r.Mode, e)
		}
		if r.Err != "" {
			fmt.Fprintf(out, "%s: server: %s\n", r.Mode, r.Err)
		}
		if r.Check != nil && r.Check.Stacks != "" {
			fmt.Fprintf(out, "%s: goroutines left behind:\n%s\n", r.Mode, r.Check.Stacks)
		}
	}
	fmt.Fprintf(out, "\nload average: %s at start, %s at end\n", res.Machine.LoadAvg, res.LoadEnd)
	if res.OK() {
		fmt.Fprintln(out, "soak: nothing left behind")
	} else {
		fmt.Fprintln(out, "soak: FAILED (see above)")
	}
}

// verdict says what a server left behind, in words.
func verdict(c *soakCheck) string {
	var what []string
	if !c.Settled {
		what = append(what, plural(int64(c.Open), "transport")+" never closed")
	}
	if c.Held > 0 {
		what = append(what, plural(c.Held, "closed transport")+" still reachable")
	}
	g, fds, heap := c.Leaks()
	if g > 0 {
		what = append(what, plural(int64(g), "goroutine"))
	}
	if fds > 0 {
		what = append(what, plural(int64(fds), "descriptor"))
	}
	if heap > soakHeapTolerance {
		what = append(what, fmt.Sprintf("%.0f KiB of heap", kib(heap)))
	}
	if len(what) == 0 {
		return "nothing"
	}
	return "**" + strings.Join(what, ", ") + "**"
}

// plural returns n and noun, with an "s" unless n is 1.
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

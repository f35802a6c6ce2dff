package main

// The idle pass: after the rounds, for each count of -idle (a list, such
// as 10000,50000) and each mode, a fresh server child, that many
// connections opened and echoed once each, and the growth of the
// server's VmRSS per connection, with its goroutines, stack and live
// heap per connection.
//
// Source addresses. One source address can hold at most one connection
// per port of the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range,
// 28,232 ports by default), so on Linux the client binds each connection
// to a source address of its own among 127.0.0.2, 127.0.0.3, ... (port 0,
// the kernel's pick), round robin, with at most idlePerSource connections
// on each (fewer if half the ephemeral range is less). The server listens
// on 127.0.0.1. Elsewhere 127.0.0.2 may not be configured (macOS's lo0
// has 127.0.0.1 alone), and the system picks the source.
//
// Descriptors. A count needs that many descriptors, plus idleHeadroom, in
// the server child, and as many plus those already open in the client
// (this process). Both raise RLIMIT_NOFILE's soft limit to the hard
// limit, which the server child inherits, and which only a privileged
// process (CAP_SYS_RESOURCE) can raise. A count that does not fit under
// the hard limit is not shrunk: it is skipped, its reason (the limit and
// the descriptors needed) printed and kept in the JSON (results.IdleSkipped),
// and the other counts run. The server cannot be split, and the client
// needs about as many descriptors as the server, under the same limit, so
// spreading the client over several processes would gain only the
// client's few extra descriptors: it is not done. The largest count that
// fits is printed with the skip, and -idle accepts it as "max".

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// idleHeadroom is the descriptors a process needs besides its idle
// connections: stdio, the listener, the runtime's and the engine's
// pollers, the pipes to the server child, profiles.
const idleHeadroom = 64

// idlePerSource is the most idle connections the client opens from one
// source address.
const idlePerSource = 5000

// idleResult is one idle-memory pass: one mode at one count.
type idleResult struct {
	Mode    string
	Conns   int
	Before  int64    // server VmRSS before connecting, bytes
	After   int64    // server VmRSS with every connection open and idle
	PerConn float64  // (After-Before)/Conns, bytes
	Sources []string // the client's source addresses (none: the system's choice)
	Stats   serverStats
}

// idleSkip is a count of the idle pass that did not run, and why.
type idleSkip struct {
	Conns  int
	Limit  uint64 // RLIMIT_NOFILE's hard limit
	Server uint64 // descriptors the server process needs
	Client uint64 // descriptors the client process needs
	Max    int    // the largest count that fits
	Reason string
}

// fdLimits is what decides whether an idle count fits.
type fdLimits struct {
	hard       uint64 // RLIMIT_NOFILE's hard limit, the server child's too
	clientOpen int    // descriptors the client has open already
}

// currentFDLimits reads this process's hard limit and open descriptors
// (/proc/self/fd; idleHeadroom more where it cannot be read).
func currentFDLimits() (fdLimits, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fdLimits{}, err
	}
	open := idleHeadroom
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		open = len(fds)
	}
	return fdLimits{hard: uint64(lim.Max), clientOpen: open}, nil // int64 on the BSDs
}

// needs returns the descriptors n idle connections need in the server
// and in the client.
func (l fdLimits) needs(n int) (server, client uint64) {
	server = uint64(n) + idleHeadroom
	return server, server + uint64(l.clientOpen)
}

// max returns the largest count that fits in both processes (0 if none).
func (l fdLimits) max() int {
	_, extra := l.needs(0)
	return int(max(l.hard, extra) - extra)
}

// check returns why n idle connections do not fit, if they do not.
func (l fdLimits) check(n int) (skip idleSkip, fits bool) {
	server, client := l.needs(n)
	if server <= l.hard && client <= l.hard {
		return idleSkip{}, true
	}
	var short []string
	if server > l.hard {
		short = append(short, fmt.Sprintf("%d descriptors in the server process (%d connections + %d)", server, n, idleHeadroom))
	}
	if client > l.hard {
		short = append(short, fmt.Sprintf("%d in the client process (%d connections + %d + the %d it has open)", client, n, idleHeadroom, l.clientOpen))
	}
	reason := fmt.Sprintf("RLIMIT_NOFILE's hard limit is %d, and %d connections need %s; the largest count that fits is %d (-idle max)",
		l.hard, n, strings.Join(short, " and "), l.max())
	return idleSkip{Conns: n, Limit: l.hard, Server: server, Client: client, Max: l.max(), Reason: reason}, false
}

// parseIdle parses -idle: a comma-separated list of connection counts,
// each positive and given once, "max" standing for maxConns (the largest
// count the descriptor limit allows); "0" or "" is none.
func parseIdle(s string, maxConns int) ([]int, error) {
	if t := strings.TrimSpace(s); t == "" || t == "0" {
		return nil, nil
	}
	var counts []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if f == "max" {
			n, err = maxConns, nil
		}
		switch {
		case err != nil || n <= 0:
			return nil, fmt.Errorf("bad -idle count %q (want positive counts, or max, separated by commas; 0 alone skips the pass)", f)
		case slices.Contains(counts, n):
			return nil, fmt.Errorf("-idle count %d given twice", n)
		}
		counts = append(counts, n)
	}
	return counts, nil
}

// idleSources returns the source addresses for n idle connections at
// perSource each at most: 127.0.0.2, 127.0.0.3, ...; none where the
// loopback network is not all local (not Linux) or perSource is not
// positive.
func idleSources(goos string, n, perSource int) []netip.Addr {
	if goos != "linux" || perSource <= 0 || n <= 0 {
		return nil
	}
	k := (n + perSource - 1) / perSource
	srcs := make([]netip.Addr, 0, k)
	a := netip.AddrFrom4([4]byte{127, 0, 0, 2})
	for range k {
		srcs = append(srcs, a)
		a = a.Next()
	}
	return srcs
}

// perSource returns the most idle connections to open from one source
// address: idlePerSource, or half the ephemeral port range if less.
func perSource() int {
	if ports := ephemeralPorts(); ports > 0 {
		return min(idlePerSource, ports/2)
	}
	return idlePerSource
}

// ephemeralPorts returns the size of Linux's ephemeral port range, or 0
// if unknown.
func ephemeralPorts() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || hi < lo {
		return 0
	}
	return hi - lo + 1
}

// runIdle runs the idle pass: every count that fits under the
// descriptor limit, each for every mode; the others are skipped with
// their reason.
func runIdle(cfg config, limits fdLimits, res *results) error {
	for _, n := range cfg.idle {
		if skip, fits := limits.check(n); !fits {
			fmt.Fprintf(os.Stderr, "idle %d conns: skipped: %s\n", n, skip.Reason)
			res.IdleSkipped = append(res.IdleSkipped, skip)
			continue
		}
		for _, mode := range cfg.modes {
			r, err := idleOne(cfg, mode, n)
			if err != nil {
				return fmt.Errorf("idle pass, %s, %d connections: %w", mode, n, err)
			}
			fmt.Fprintf(os.Stderr, "idle %-20s %d conns from %s: %.1f -> %.1f MiB, %.2f KiB/conn\n",
				mode, r.Conns, sourceRange(r.Sources), mib(r.Before), mib(r.After), r.PerConn/1024)
			res.Idle = append(res.Idle, r)
		}
	}
	return nil
}

// idleOne measures the server's resident memory per idle connection, n
// of them; with -tls the connections are TLS clients, each handshaken.
func idleOne(cfg config, mode string, n int) (idleResult, error) {
	child := cfg.child(mode)
	child.exitGC = true
	if cfg.pprofDir != "" {
		name := fmt.Sprintf("idle-%s-%d", fileMode(mode), n)
		child.memProfile = filepath.Join(cfg.pprofDir, name+".heap.pprof")
		child.memRate = 512
	}
	srv, err := startServer(child)
	if err != nil {
		return idleResult{}, err
	}
	pid := srv.cmd.Process.Pid
	time.Sleep(200 * time.Millisecond) // let the new process settle
	before, err := vmRSS(pid)
	if err != nil {
		srv.stop()
		return idleResult{}, err
	}
	dial := dialTCP
	if cfg.tls {
		dial = cfg.tlsSetup.dialFrom
	}
	srcs := idleSources(runtime.GOOS, n, perSource())
	conns, err := openIdle(dial, srv.addr, srcs, n, 32, cfg.idleSize)
	if err != nil {
		srv.stop()
		return idleResult{}, err
	}
	time.Sleep(500 * time.Millisecond) // let the server finish its bookkeeping
	after, err := vmRSS(pid)
	// The server closes first: its exit ends every connection at once.
	_, st, serr := srv.stop()
	closeAll(conns)
	if err == nil {
		err = serr
	}
	if err != nil {
		return idleResult{}, err
	}
	r := idleResult{Mode: mode, Conns: n, Before: before, After: after, PerConn: float64(after-before) / float64(n), Stats: st}
	for _, a := range srcs {
		r.Sources = append(r.Sources, a.String())
	}
	return r, nil
}

// idleColumn is a column of the idle table that one kind of run adds
// after the ratio to the baseline.
type idleColumn struct {
	name  string
	align string // "---" or "---:"
	cell  func(idleResult) string
}

// reportIdle prints the idle pass's tables, one per count that ran, with
// the ratio of KiB/conn to base's at the same count and the columns cols
// after it, then the counts skipped and why.
func reportIdle(out io.Writer, res *results, base string, cols ...idleColumn) {
	for _, n := range idleCounts(res.Idle) {
		fmt.Fprintf(out, "\n### Idle memory, %d connections, one %d-byte echo each\n\n", n, res.Config.IdleSize)
		header := []string{"mode", "server RSS before MiB", "with the connections MiB", "KiB/conn", "x " + base}
		align := []string{"---", "---:", "---:", "---:", "---:"}
		for _, c := range cols {
			header, align = append(header, c.name), append(align, c.align)
		}
		header = append(header, "goroutines/conn", "stack KiB/conn", "live heap KiB/conn", engineEnv+" seen", "source addresses")
		align = append(align, "---:", "---:", "---:", "---", "---:")
		fmt.Fprintf(out, "| %s |\n| %s |\n", strings.Join(header, " | "), strings.Join(align, " | "))
		i := slices.IndexFunc(res.Idle, func(r idleResult) bool { return r.Mode == base && r.Conns == n })
		for _, r := range res.Idle {
			if r.Conns != n {
				continue
			}
			ratio := "-"
			if i >= 0 {
				ratio = fmt.Sprintf("%.2f", r.PerConn/res.Idle[i].PerConn)
			}
			cells := []string{r.Mode, fmt.Sprintf("%.1f", mib(r.Before)), fmt.Sprintf("%.1f", mib(r.After)), fmt.Sprintf("%.2f", r.PerConn/1024), ratio}
			for _, c := range cols {
				cells = append(cells, c.cell(r))
			}
			fn := float64(n)
			cells = append(cells, fmt.Sprintf("%.3f", float64(r.Stats.Goroutines)/fn),
				fmt.Sprintf("%.2f", float64(r.Stats.StackInuse)/1024/fn), fmt.Sprintf("%.2f", float64(r.Stats.HeapAlloc)/1024/fn),
				seenEngine(r.Stats.Engine), sourceRange(r.Sources))
			fmt.Fprintf(out, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	for _, s := range res.IdleSkipped {
		fmt.Fprintf(out, "\n### Idle memory, %d connections: skipped\n\n%s.\n", s.Conns, s.Reason)
	}
}

// idleCounts returns the counts of the idle passes that ran, in order.
func idleCounts(rs []idleResult) []int {
	var counts []int
	for _, r := range rs {
		if !slices.Contains(counts, r.Conns) {
			counts = append(counts, r.Conns)
		}
	}
	return counts
}

// sourceRange formats the source addresses of an idle pass: "127.0.0.2"
// or "127.0.0.2-127.0.0.3 (2)", "system" for none.
func sourceRange(srcs []string) string {
	switch len(srcs) {
	case 0:
		return "system"
	case 1:
		return srcs[0]
	}
	return fmt.Sprintf("%s-%s (%d)", srcs[0], srcs[len(srcs)-1], len(srcs))
}

// idleDialer dials one idle connection to addr from the source address
// local (nil: the system's choice): dialTCP, or a -tls run's
// tlsSetup.dialFrom.
type idleDialer func(local net.Addr, addr string) (net.Conn, error)

// dialTCP opens one plain connection to addr from local (nil: any), as
// the idle pass does.
func dialTCP(local net.Addr, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: local}
	return d.Dial("tcp", addr)
}

// tcpSource returns the source address of a connection dialled from a
// (port 0), or nil for the zero Addr.
func tcpSource(a netip.Addr) net.Addr {
	if !a.IsValid() {
		return nil
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0))
}

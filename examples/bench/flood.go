package main

// The flood pass measures DESIGN.md's last Performance target: "A flooding
// peer against a stalled consumer: process memory stays under the read
// limit plus 1 MiB."
//
// For each mode of the matrix that has a stalled variant (events,
// protocol, rx, events-pooled), a fresh server child runs that variant:
// it accepts connections and claims their events, then never consumes
// them. The parent opens one plain net.Conn and writes as fast as it can
// until -flood bytes are written or the writes stall: no byte taken for
// floodStall, once the kernel's socket buffers are full. It then reads
// the child's VmRSS and VmHWM (/proc/PID/status) and reports their
// growth over the child's VmRSS before the connection, against the bound
// transport.DefaultReadLimit + 1 MiB. The peak (VmHWM) is reset to the
// current RSS before the connection where the kernel allows it
// (/proc/PID/clear_refs), so that it holds the flood's peak only.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// floodBound is DESIGN.md's bound on a stalled server's memory growth.
const floodBound = transport.DefaultReadLimit + 1<<20

// floodStall is how long the flooding peer's writes must make no progress
// for the server to count as stalled.
const floodStall = time.Second

// floodChunk is the size of each write of the flooding peer.
const floodChunk = 256 << 10

// stalledPrefix names a stalled server: "stalled-" and the echo mode it
// stalls.
const stalledPrefix = "stalled-"

// stalledServers are the flood pass's servers, by mode name. They are
// hidden: -serve accepts them, -modes does not.
var stalledServers = map[string]serveFunc{
	stalledPrefix + "events":        serveStalledEvents,
	stalledPrefix + "protocol":      serveStalledProtocol,
	stalledPrefix + "rx":            serveStalledRx,
	stalledPrefix + "events-pooled": serveStalledEventsPooled,
}

// serveStalledEvents claims each transport's event channel, takes Made
// and never receives again. It takes Made so that the channel's one slot
// holds Data, as it does for a consumer that stalls mid-stream: a
// consumer that never took Made would leave Made in the slot and hold
// one read less (DESIGN.md, Decisions).
func serveStalledEvents(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, takeMade)
}

// takeMade takes t's first event, Made, and never receives again; t and
// its channel stay open.
func takeMade(_ context.Context, t transport.Transport) { <-t.Events() }

// serveStalledEventsPooled is serveStalledEvents over pooled events
// (transport.WithPooledData): the reads held back are pooled buffers,
// under the same read limit.
func serveStalledEventsPooled(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, takeMade, transport.WithPooledData())
}

// pausingProtocol stalls the way a Protocol does: it pauses reading as
// the connection is made and never resumes.
type pausingProtocol struct {
	adapters.BaseProtocol
}

var _ adapters.Protocol = (*pausingProtocol)(nil)

func (pausingProtocol) ConnectionMade(t transport.Transport) { t.PauseReading() }

// serveStalledProtocol serves pausingProtocol through adapters.Serve.
func serveStalledProtocol(ctx context.Context, addr string) (net.Addr, error) {
	s, err := listenRx(ctx, addr)
	if err != nil {
		return nil, err
	}
	s.tasks.Go(func() {
		_ = adapters.Serve(ctx, s.srv, func() pausingProtocol { return pausingProtocol{} })
	})
	return s, nil
}

// serveStalledRx observes each transport through the rx mode's Map stage,
// takes the first item (Made) and never receives again, until the server
// stops. Whatever rxgo's goroutines hold on top of the transport's channel
// counts against the bound.
func serveStalledRx(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, func(ctx context.Context, t transport.Transport) {
		payloads := t.Observable().Map(func(_ context.Context, v any) (any, error) {
			return v.(stream.Event).Data, nil
		})
		items := payloads.Observe(rxgo.WithContext(ctx))
		<-items // Made
		<-ctx.Done()
	})
}

// floodResult is one flood pass.
type floodResult struct {
	Mode      string // the stalled server's mode
	Offered   int64  // bytes the peer tried to write (-flood)
	Written   int64  // bytes the peer wrote before stalling
	Stalled   bool   // false: every offered byte was written
	Before    int64  // server VmRSS before the connection, bytes
	After     int64  // server VmRSS once the peer stalled
	Peak      int64  // server VmHWM once the peer stalled
	PeakReset bool   // VmHWM was reset before the connection (else it includes start-up)
	Bound     int64  // the allowed growth
	Stats     serverStats
}

// Growth is the server's peak growth over its RSS before the connection:
// the figure judged against the bound.
func (r floodResult) Growth() int64 { return r.Peak - r.Before }

// Met reports whether the growth stayed within the bound.
func (r floodResult) Met() bool { return r.Growth() <= r.Bound }

// floodModes returns the stalled server modes for the measured echo
// modes in modes (MODE or MODE/ENGINE), in order: stalled-MODE, with the
// same engine.
func floodModes(modes []string) []string {
	var out []string
	for _, m := range modes {
		if server, _ := splitEngine(m); stalledServers[stalledPrefix+server] != nil {
			out = append(out, stalledPrefix+m)
		}
	}
	return out
}

// floodOne floods one fresh stalled server with cfg.flood bytes over one
// connection and measures its memory.
func floodOne(cfg config, mode string) (floodResult, error) {
	server, engine := splitEngine(mode)
	child := childConfig{mode: server, engine: engine, addr: "127.0.0.1:0", exitGC: true}
	if cfg.pprofDir != "" {
		child.memProfile = filepath.Join(cfg.pprofDir, fmt.Sprintf("flood-%s.heap.pprof", fileMode(mode)))
		child.memRate = 512
	}
	srv, err := startServer(child)
	if err != nil {
		return floodResult{}, err
	}
	pid := srv.cmd.Process.Pid
	time.Sleep(200 * time.Millisecond) // let the new process settle
	res := floodResult{Mode: mode, Offered: cfg.flood, Bound: floodBound}
	res.PeakReset = resetPeakRSS(pid) == nil
	if res.Before, _, err = procMemory(pid); err != nil {
		srv.stop()
		return floodResult{}, err
	}
	c, err := net.DialTimeout("tcp", srv.addr, 10*time.Second)
	if err != nil {
		srv.stop()
		return floodResult{}, err
	}
	res.Written, res.Stalled, err = flood(c, cfg.flood, floodStall)
	if err == nil {
		time.Sleep(200 * time.Millisecond) // let the server take what is in flight
		res.After, res.Peak, err = procMemory(pid)
	}
	// The server exits first, so that the peer's unread bytes end with it.
	_, st, serr := srv.stop()
	c.Close()
	if err == nil {
		err = serr
	}
	if err != nil {
		return floodResult{}, err
	}
	res.Stats = st
	return res, nil
}

// flood writes up to total bytes on c as fast as the peer takes them. It
// stops early, reporting stalled, when a write makes no progress for
// stall: the kernel's buffers are then full and the peer reads nothing.
func flood(c net.Conn, total int64, stall time.Duration) (written int64, stalled bool, err error) {
	chunk := bytes.Repeat([]byte("rxnet-flood\n"), floodChunk/12+1)[:floodChunk]
	for written < total {
		if err := c.SetWriteDeadline(time.Now().Add(stall)); err != nil {
			return written, false, err
		}
		n, err := c.Write(chunk[:min(int64(len(chunk)), total-written)])
		written += int64(n)
		switch {
		case err == nil:
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return written, false, fmt.Errorf("write: %w", err)
		case n == 0:
			return written, true, nil
		}
		// A timeout after some progress: the next write gets a full stall
		// period of its own.
	}
	return written, false, nil
}

// procMemory returns a process's resident set size and its peak (VmRSS
// and VmHWM from /proc/PID/status), in bytes.
func procMemory(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	if rss, err = statusField(b, "VmRSS"); err != nil {
		return 0, 0, err
	}
	if peak, err = statusField(b, "VmHWM"); err != nil {
		return 0, 0, err
	}
	return rss, peak, nil
}

// resetPeakRSS resets a process's VmHWM to its current VmRSS (Linux 4.0
// and later; the process must be ours).
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// reportFlood prints the flood pass's table.
func reportFlood(out io.Writer, rs []floodResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(out, "\n### Flood: one peer writing up to %s to a stalled consumer\n\n", sizeMiB(rs[0].Offered))
	fmt.Fprintln(out, "| mode | peer wrote before stalling | server RSS before MiB | RSS growth KiB | peak growth KiB | bound KiB | within the bound | server live heap KiB |")
	fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
	for _, r := range rs {
		wrote := sizeMiB(r.Written)
		if !r.Stalled {
			wrote += " (all; never stalled)"
		}
		peak := fmt.Sprintf("%.0f", kib(r.Growth()))
		if !r.PeakReset {
			peak += " (peak includes start-up)"
		}
		fmt.Fprintf(out, "| %s | %s | %.1f | %.0f | %s | %.0f | %s | %.0f |\n",
			r.Mode, wrote, mib(r.Before), kib(r.After-r.Before), peak, kib(r.Bound), metOrMissed(r.Met()),
			kib(int64(r.Stats.HeapAlloc)))
	}
	fmt.Fprintln(out, "\nGrowth is over the server's VmRSS before the connection; peak is VmHWM. The live heap is")
	fmt.Fprintln(out, "the server's whole heap after a GC as it stops, the connection still open.")
}

// sizeMiB formats a byte count in MiB with two decimals.
func sizeMiB(n int64) string { return fmt.Sprintf("%.2f MiB", mib(n)) }

func kib(b int64) float64 { return float64(b) / (1 << 10) }

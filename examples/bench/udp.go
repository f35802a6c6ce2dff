package main

// The UDP echo matrix (-udp) measures rxnet's datagram endpoints the way
// the TCP matrix measures its streams: the same rounds, server child
// processes, rusage and medians, with a UDP load client and a UDP
// baseline.
//
// Servers (hidden from -modes without -udp), each with a udpReceiveBuffer
// SO_RCVBUF:
//
//	udpconn       the standard library: one goroutine looping over
//	              ReadFromUDPAddrPort and WriteToUDPAddrPort on a
//	              *net.UDPConn with a reused 64 KiB buffer (the baseline)
//	udp-protocol  adapters.ListenDatagram with a DatagramProtocol whose
//	              DatagramReceived calls t.SendTo(data, addr)
//	udp-events    transport.ListenPacket, one goroutine ranging over
//	              t.Events() and sending each Datagram back with SendTo
//	udp-events-pooled
//	              udp-events over an endpoint made with
//	              transport.WithPooledData, releasing each Datagram once
//	              sent (SendTo never retains it; issue 14)
//
// Load: -conns connected UDP sockets, each a goroutine that sends one
// -size-byte datagram and waits for its echo, again and again. Each
// datagram starts with a sequence number; a reply that is not the echo
// of the datagram in flight (a late echo of one given up on) is
// discarded. A datagram whose echo has not come back within udpTimeout
// counts as lost, and the socket sends the next one.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// udpBaseline is the mode every UDP ratio is taken against.
const udpBaseline = "udpconn"

// udpTimeout is how long a load socket waits for an echo before it counts
// the datagram as lost and sends the next one.
const udpTimeout = 200 * time.Millisecond

// udpReceiveBuffer is every UDP server's SO_RCVBUF. The default
// (net.core.rmem_default, 208 KiB on Linux) overflows when 100 sockets
// have a 1 KiB datagram in flight each (about 2.3 KiB of kernel memory
// apiece), and the kernel then drops some 0.2 % of them in every mode
// alike; each loss idles its socket for udpTimeout.
const udpReceiveBuffer = 1 << 20

// udpMinSize and udpMaxSize bound -size with -udp: room for the sequence
// number, and the largest UDP payload over IPv4.
const (
	udpMinSize = 8
	udpMaxSize = 65507
)

// udpServers are the UDP echo servers, by mode name. init adds them to
// servers, so that the server child (-serve) finds them; config.check
// keeps them out of a TCP run and the TCP modes out of a UDP run.
var udpServers = map[string]serveFunc{
	"udpconn":           serveUDPConn,
	"udp-protocol":      serveUDPProtocol,
	"udp-events":        serveUDPEvents,
	"udp-events-pooled": serveUDPEventsPooled,
}

// udpModes is the default UDP matrix, baseline first.
var udpModes = []string{"udpconn", "udp-protocol", "udp-events", "udp-events-pooled"}

func init() {
	for name, f := range udpServers {
		servers[name] = f
	}
}

// checkUDP checks the modes and sizes against the kind of run: UDP modes
// and datagram sizes with -udp, stream modes without.
func checkUDP(c *config) error {
	return checkMatrix(c, matrix{
		flag: "-udp", on: c.udp, servers: udpServers, modes: udpModes,
		kind: "UDP", outside: "a TCP mode", item: "datagram", min: udpMinSize, max: udpMaxSize,
	})
}

// serveUDPConn is the baseline: one goroutine reading datagrams into a
// reused buffer and writing each back to its sender.
func serveUDPConn(ctx context.Context, addr string) (net.Addr, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	c := pc.(*net.UDPConn)
	if err := c.SetReadBuffer(udpReceiveBuffer); err != nil {
		c.Close()
		return nil, err
	}
	go func() {
		buf := make([]byte, copyBufSize)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				_, _ = c.WriteToUDPAddrPort(buf[:n], from)
			}
		}
	}()
	context.AfterFunc(ctx, func() { c.Close() })
	return c.LocalAddr(), nil
}

// udpEchoProtocol is asyncio's UDP echo protocol: DatagramReceived sends
// the datagram back to its sender. It stops reading while writing is
// paused.
type udpEchoProtocol struct {
	adapters.BaseDatagramProtocol
	t transport.DatagramTransport
}

var _ adapters.DatagramProtocol = (*udpEchoProtocol)(nil)

func (p *udpEchoProtocol) ConnectionMade(t transport.DatagramTransport) { p.t = t }

func (p *udpEchoProtocol) DatagramReceived(data []byte, addr net.Addr) {
	_ = p.t.SendTo(data, addr)
}

func (p *udpEchoProtocol) PauseWriting() { p.t.PauseReading() }

func (p *udpEchoProtocol) ResumeWriting() { p.t.ResumeReading() }

// serveUDPProtocol serves udpEchoProtocol through adapters.ListenDatagram.
func serveUDPProtocol(ctx context.Context, addr string) (net.Addr, error) {
	t, _, err := adapters.ListenDatagram(ctx, "udp", addr, func() *udpEchoProtocol { return &udpEchoProtocol{} },
		transport.WithReceiveBuffer(udpReceiveBuffer))
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { t.Close() })
	return sockname(t)
}

// serveUDPEvents ranges over the endpoint's event channel and sends every
// Datagram back to its sender, pausing reads while writing is paused.
func serveUDPEvents(ctx context.Context, addr string) (net.Addr, error) {
	return serveUDPEventsWith(ctx, addr)
}

// serveUDPEventsPooled is serveUDPEvents over pooled datagrams
// (transport.WithPooledData).
func serveUDPEventsPooled(ctx context.Context, addr string) (net.Addr, error) {
	return serveUDPEventsWith(ctx, addr, transport.WithPooledData())
}

// serveUDPEventsWith listens on addr with opts, ranges over the
// endpoint's event channel and sends every Datagram back to its sender,
// then releases it (SendTo never retains it; Release does nothing unless
// the datagram is pooled), pausing reads while writing is paused.
func serveUDPEventsWith(ctx context.Context, addr string, opts ...transport.Option) (net.Addr, error) {
	opts = append([]transport.Option{transport.WithReceiveBuffer(udpReceiveBuffer)}, opts...)
	t, err := transport.ListenPacket(ctx, "udp", addr, opts...)
	if err != nil {
		return nil, err
	}
	go func() {
		for ev := range t.Events() {
			switch ev.Kind {
			case stream.Datagram:
				_ = t.SendTo(ev.Data, ev.Addr)
				ev.Release()
			case stream.PauseWriting:
				t.PauseReading()
			case stream.ResumeWriting:
				t.ResumeReading()
			}
		}
	}()
	context.AfterFunc(ctx, func() { t.Close() })
	return sockname(t)
}

// sockname returns the address an endpoint is bound to.
func sockname(t transport.DatagramTransport) (net.Addr, error) {
	if v, ok := t.ExtraInfo(transport.InfoSockname); ok {
		if a, ok := v.(net.Addr); ok {
			return a, nil
		}
	}
	t.Close()
	return nil, errors.New("the endpoint has no sockname")
}

// dialUDP opens n connected UDP sockets to addr.
func dialUDP(addr string, n int) ([]net.Conn, error) {
	return dialEach(n, func() (net.Conn, error) { return net.Dial("udp", addr) })
}

// udpLoad is what the UDP load client measured in one run.
type udpLoad struct {
	loadResult       // Measured and the latencies count echoed datagrams only; Total counts every echo the server sent
	Lost       int64 // datagrams whose echo did not come back within the timeout, warm-up included
	Late       int64 // echoes that came after their datagram was counted lost (discarded)
}

// udpWorker is one socket of the UDP load client.
type udpWorker struct {
	c                 net.Conn
	msg, buf          []byte // the datagram sent (its first 8 bytes: seq) and the receive buffer
	seq               uint64 // the datagram in flight
	timeout           time.Duration
	total, lost, late int64
	lat               []time.Duration
	err               error
}

// runUDPLoad is runLoad for UDP: every socket sends a size-byte datagram,
// waits up to timeout for its echo and starts again, for warmup, then for
// the measured window (mark: runPhases). It returns once every socket's
// last datagram has been answered or given up on; the caller closes
// conns.
func runUDPLoad(conns []net.Conn, size int, warmup, window, timeout time.Duration, mark func()) (udpLoad, error) {
	var phase atomic.Int32
	msg := echoMessage(size)
	ws := make([]*udpWorker, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		w := &udpWorker{c: c, msg: slices.Clone(msg), buf: make([]byte, size+1), timeout: timeout,
			lat: make([]time.Duration, 0, 4096)}
		ws[i] = w
		wg.Go(func() { w.run(&phase) })
	}

	elapsed := runPhases(&phase, warmup, window, mark)
	wg.Wait()

	res := udpLoad{loadResult: loadResult{Window: elapsed}}
	var all []time.Duration
	for _, w := range ws {
		if w.err != nil {
			return udpLoad{}, w.err
		}
		res.Total += w.total
		res.Lost += w.lost
		res.Late += w.late
		all = append(all, w.lat...)
	}
	res.Measured = int64(len(all))
	if len(all) == 0 {
		return udpLoad{}, fmt.Errorf("no datagram echoed in %v (%d lost)", window, res.Lost)
	}
	slices.Sort(all)
	res.P50 = percentile(all, 0.50)
	res.P99 = percentile(all, 0.99)
	return res, nil
}

// run exchanges datagrams until the phase says stop.
func (w *udpWorker) run(phase *atomic.Int32) {
	for {
		ph := phase.Load()
		if ph == phaseStop {
			return
		}
		t0 := time.Now()
		answered, late, err := w.exchange(t0)
		w.late += late
		w.total += late
		if err != nil {
			w.err = err
			return
		}
		switch {
		case answered:
			w.total++
			if ph == phaseMeasure {
				w.lat = append(w.lat, time.Since(t0))
			}
		default:
			w.lost++
		}
	}
}

// exchange sends the next datagram and waits until its echo comes back
// (answered) or the timeout passes, discarding any other reply (late
// counts them). A reply of the right sequence number but other bytes is
// an error.
func (w *udpWorker) exchange(t0 time.Time) (answered bool, late int64, err error) {
	w.seq++
	binary.BigEndian.PutUint64(w.msg, w.seq)
	if err := w.c.SetReadDeadline(t0.Add(w.timeout)); err != nil {
		return false, 0, err
	}
	if _, err := w.c.Write(w.msg); err != nil {
		return false, 0, fmt.Errorf("send: %w", err)
	}
	for {
		n, err := w.c.Read(w.buf)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return false, late, nil
		case err != nil:
			return false, late, fmt.Errorf("receive: %w", err)
		case n < udpMinSize || binary.BigEndian.Uint64(w.buf) != w.seq:
			late++
		case !bytes.Equal(w.buf[:n], w.msg):
			return false, late, fmt.Errorf("echo of datagram %d differs from it (%d bytes for %d)", w.seq, n, len(w.msg))
		default:
			return true, late, nil
		}
	}
}

// reportUDP prints one table per datagram size for a -udp run, with the
// per-round figures and the losses.
func reportUDP(out io.Writer, res *results) {
	c := res.Config
	for _, size := range c.Sizes {
		sums, base, haveBase := summaries(res, size, udpBaseline)
		fmt.Fprintf(out, "\n### UDP echo, %s datagrams, %d sockets, median of %d rounds x %s\n\n",
			sizeName(size), c.Conns, c.Rounds, c.Duration)
		fmt.Fprintf(out, "| mode | req/s | x %[1]s | server CPU µs/req | x %[1]s | user µs/req | p50 | p99 | alloc B/req | window alloc B/req | GCs/s | lost (all rounds) |\n", udpBaseline)
		fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, s := range sums {
			rpsRatio, cpuRatio := ratios(s, base, haveBase)
			var lost, sent int64
			for _, r := range s.perRound {
				lost += r.Lost
				sent += r.Lost + r.Requests
			}
			fmt.Fprintf(out, "| %s | %.0f | %s | %.1f | %s | %.1f | %s | %s | %.0f | %.0f | %.1f | %d (%.3f %%) |\n",
				s.mode, s.reqPerSec, rpsRatio, s.cpuPerReq, cpuRatio, s.userReq,
				fmtLatency(s.p50), fmtLatency(s.p99), s.allocReq, s.winAlloc, s.gcPerSec,
				lost, 100*float64(lost)/float64(max(sent, 1)))
		}

		reportPerRound(out, sums, c.Rounds, "req/s / server CPU µs/req / lost", func(r runResult) string {
			return fmt.Sprintf("%.0f / %.1f / %d", r.ReqPerSec, r.CPUPerReq, r.Lost)
		})
		printMatrixTargets(out, size, sums, base, haveBase, func(out io.Writer, s, base summary) {
			printCPUTarget(out, s, base, "udp-events-pooled", 1.25)
		})
	}
	fmt.Fprintf(out, "\nA datagram counts as lost when its echo has not come back within %v. No peak RSS column:\n", udpTimeout)
	fmt.Fprintln(out, "a child's ru_maxrss includes its parent's resident set at the spawn (os/exec's vfork, then")
	fmt.Fprintln(out, "exec keeps the old address space's high-water mark), so it reports the load client's size.")
}

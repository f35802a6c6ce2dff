package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// baseline is the mode every ratio is taken against.
const baseline = "netconn"

// summary is one mode at one size, as medians over the rounds.
type summary struct {
	mode      string
	rounds    int
	reqPerSec float64
	cpuPerReq float64
	userReq   float64
	p50, p99  time.Duration
	maxRSS    int64
	allocReq  float64 // over the server's life
	winAlloc  float64 // over the measured window
	gcPerSec  float64 // over the measured window
	faultsReq float64
	perRound  []runResult
}

func summarize(runs []runResult, size int, mode string) (summary, bool) {
	s := summary{mode: mode}
	var rps, cpu, user, p50, p99, rss, alloc, winAlloc, gcs, faults []float64
	for _, r := range runs {
		if r.Size != size || r.Mode != mode {
			continue
		}
		s.perRound = append(s.perRound, r)
		rps = append(rps, r.ReqPerSec)
		cpu = append(cpu, r.CPUPerReq)
		user = append(user, r.UserPerReq)
		p50 = append(p50, float64(r.P50))
		p99 = append(p99, float64(r.P99))
		rss = append(rss, float64(r.MaxRSS))
		alloc = append(alloc, r.AllocPerReq)
		winAlloc = append(winAlloc, r.WindowAllocPerReq)
		gcs = append(gcs, r.GCPerSec)
		faults = append(faults, r.FaultsPerReq)
	}
	if len(rps) == 0 {
		return s, false
	}
	s.rounds = len(rps)
	s.reqPerSec, s.cpuPerReq, s.userReq = median(rps), median(cpu), median(user)
	s.p50, s.p99 = time.Duration(median(p50)), time.Duration(median(p99))
	s.maxRSS = int64(median(rss))
	s.allocReq, s.winAlloc, s.gcPerSec = median(alloc), median(winAlloc), median(gcs)
	s.faultsReq = median(faults)
	return s, true
}

// median returns the median of v (the mean of the middle two for an even
// count); v is reordered.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// report prints one table per message size, the per-round figures, the
// idle pass and the DESIGN.md targets.
func report(out io.Writer, res *results) {
	if other := otherMatrix(res.Config.UDP, res.Config.Lines, res.Config.TLS); other != nil {
		other(out, res)
		reportEngines(out, res)
		fmt.Fprintf(out, "\nload average: %s at start, %s at end\n", res.Machine.LoadAvg, res.LoadEnd)
		return
	}
	counts := idleCounts(res.Idle)
	idle := map[string]map[int]idleResult{}
	for _, r := range res.Idle {
		if idle[r.Mode] == nil {
			idle[r.Mode] = map[int]idleResult{}
		}
		idle[r.Mode][r.Conns] = r
	}
	idleHeader, idleAlign := "", ""
	for _, n := range counts {
		idleHeader += fmt.Sprintf(" idle KiB/conn (%d) |", n)
		idleAlign += " ---: |"
	}
	c := res.Config
	for _, size := range c.Sizes {
		sums, base, haveBase := summaries(res, size, baseline)
		fmt.Fprintf(out, "\n### %s messages, %d connections, median of %d rounds x %s\n\n",
			sizeName(size), c.Conns, c.Rounds, c.Duration)
		fmt.Fprintln(out, "| mode | req/s | x netconn | server CPU µs/req | x netconn | user µs/req | p50 | p99 | peak RSS MiB | alloc B/req | window alloc B/req | GCs/s | page faults/req |"+idleHeader)
		fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"+idleAlign)
		for _, s := range sums {
			rpsRatio, cpuRatio := ratios(s, base, haveBase)
			idleKiB := ""
			for _, n := range counts {
				cell := "-"
				if r, ok := idle[s.mode][n]; ok {
					cell = fmt.Sprintf("%.2f", r.PerConn/1024)
				}
				idleKiB += " " + cell + " |"
			}
			fmt.Fprintf(out, "| %s | %.0f | %s | %.1f | %s | %.1f | %s | %s | %.1f | %.0f | %.0f | %.1f | %.2f |%s\n",
				s.mode, s.reqPerSec, rpsRatio, s.cpuPerReq, cpuRatio, s.userReq,
				fmtLatency(s.p50), fmtLatency(s.p99), mib(s.maxRSS), s.allocReq, s.winAlloc, s.gcPerSec, s.faultsReq, idleKiB)
		}

		reportPerRound(out, sums, c.Rounds, "req/s / server CPU µs/req", rpsAndCPU)

		if haveBase {
			fmt.Fprintf(out, "\nDESIGN.md targets at %s:\n\n", sizeName(size))
			for _, s := range sums {
				printTargets(out, size, s, base)
			}
		}
	}

	reportIdle(out, res, baseline, idleColumn{"target <= 4 KiB", "---", func(r idleResult) string {
		if r.Mode == baseline {
			return "-"
		}
		return metOrMissed(r.PerConn/1024 <= 4)
	}})
	reportFlood(out, res.Flood)
	reportEngines(out, res)
	fmt.Fprintf(out, "\nload average: %s at start, %s at end\n", res.Machine.LoadAvg, res.LoadEnd)
}

// printTargets prints the DESIGN.md targets, and issue 14's for the
// pooled and buffered modes, that apply to s.
func printTargets(out io.Writer, size int, s, base summary) {
	rps := s.reqPerSec / base.reqPerSec
	cpu := s.cpuPerReq / base.cpuPerReq
	mode, _ := splitEngine(s.mode)
	big := size >= 100<<10
	switch {
	case mode == "protocol" && big:
		targetLine(out, s.mode, "req/s", rps, ">=", 0.95)
		targetLine(out, s.mode, "server CPU/req", cpu, "<=", 1.0)
	case mode == "protocol":
		targetLine(out, s.mode, "server CPU/req", cpu, "<=", 1.0)
		targetLine(out, s.mode, "req/s", rps, ">=", 1.0)
	case mode == "rx":
		targetLine(out, s.mode, "server CPU/req", cpu, "<=", 1.25)
	case mode == "events-pooled" && big:
		targetLine(out, s.mode, "server CPU/req", cpu, "<=", 1.10)
		targetLine(out, s.mode, "req/s", rps, ">=", 0.95)
	case mode == "events-pooled" && size == 1<<10:
		targetLine(out, s.mode, "server CPU/req", cpu, "<=", 1.15)
		limitLine(out, s.mode, "window alloc B/req", s.winAlloc, 64)
	case (mode == "rw-pooled" || mode == "buffered") && big:
		limit := map[string]float64{"rw-pooled": 1.2, "buffered": 1.0}[mode]
		targetLine(out, s.mode, "server CPU/req", cpu, "<=", limit)
		targetLine(out, s.mode, "req/s", rps, ">=", 0.95)
	case mode != baseline && big:
		targetLine(out, s.mode, "req/s", rps, ">=", 0.95)
	}
}

// targetLine prints one target on a ratio to the baseline: mode's what
// against op ("<=" or ">=") limit. It judges the ratio as printed, to two
// decimals: a median a hair over the baseline's is a tie, not a miss.
func targetLine(out io.Writer, mode, what string, ratio float64, op string, limit float64) {
	ratio = math.Round(ratio*100) / 100
	ok := ratio <= limit
	if op == ">=" {
		ok = ratio >= limit
	}
	fmt.Fprintf(out, "- %s %s: %.2fx (target %s %.2fx): %s\n", mode, what, ratio, op, limit, metOrMissed(ok))
}

// limitLine prints one target on an absolute figure: mode's what at most
// limit.
func limitLine(out io.Writer, mode, what string, v, limit float64) {
	fmt.Fprintf(out, "- %s %s: %.0f (target <= %.0f): %s\n", mode, what, v, limit, metOrMissed(math.Round(v) <= limit))
}

// printCPUTarget prints, for a matrix whose only target for mode is its
// server CPU per request (UDP's and -lines' pooled modes, issue 14), that
// target when s is mode at any engine.
func printCPUTarget(out io.Writer, s, base summary, mode string, limit float64) {
	if m, _ := splitEngine(s.mode); m == mode {
		targetLine(out, s.mode, "server CPU/req", s.cpuPerReq/base.cpuPerReq, "<=", limit)
	}
}

func metOrMissed(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// sizeName formats a message size: "1 KiB", "100 KiB", "300 B".
func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// fmtLatency formats a latency in µs below 1 ms and in ms above.
func fmtLatency(d time.Duration) string {
	us := float64(d) / float64(time.Microsecond)
	if us < 1000 {
		return fmt.Sprintf("%.0f µs", us)
	}
	return fmt.Sprintf("%.2f ms", us/1000)
}

// summaries returns the summary of every mode of a run at size, in the
// run's order, and the baseline mode's (ok false when it did not run).
func summaries(res *results, size int, baseline string) (sums []summary, base summary, ok bool) {
	for _, mode := range res.Config.Modes {
		s, found := summarize(res.Runs, size, mode)
		if !found {
			continue
		}
		sums = append(sums, s)
		if mode == baseline {
			base, ok = s, true
		}
	}
	return sums, base, ok
}

// ratios formats s's req/s and CPU per request as ratios to base's ("-"
// without a baseline).
func ratios(s, base summary, haveBase bool) (rps, cpu string) {
	if !haveBase {
		return "-", "-"
	}
	return fmt.Sprintf("%.2f", s.reqPerSec/base.reqPerSec), fmt.Sprintf("%.2f", s.cpuPerReq/base.cpuPerReq)
}

// reportPerRound prints every mode's figures round by round, in the
// order they ran: cell formats one run as what says.
func reportPerRound(out io.Writer, sums []summary, rounds int, what string, cell func(runResult) string) {
	fmt.Fprintf(out, "\nPer round (%s), in the order they ran:\n\n", what)
	header := []string{"mode"}
	for r := 1; r <= rounds; r++ {
		header = append(header, fmt.Sprintf("round %d", r))
	}
	fmt.Fprintf(out, "| %s |\n", strings.Join(header, " | "))
	fmt.Fprintf(out, "|%s\n", strings.Repeat(" --- |", len(header)))
	for _, s := range sums {
		cells := []string{s.mode}
		for _, r := range s.perRound {
			cells = append(cells, cell(r))
		}
		fmt.Fprintf(out, "| %s |\n", strings.Join(cells, " | "))
	}
}

// rpsAndCPU is a per-round cell: req/s / server CPU µs/req.
func rpsAndCPU(r runResult) string { return fmt.Sprintf("%.0f / %.1f", r.ReqPerSec, r.CPUPerReq) }

// reportStream prints one table per message size for a stream matrix
// without the TCP report's flood pass (-lines, -tls; -tls adds its idle
// table), with the per-round figures and, when targets is not nil and
// the baseline ran, the targets it prints for each mode: the title names
// the echo ("Line echo") and item its messages ("lines").
func reportStream(out io.Writer, res *results, baseline, title, item string, targets func(out io.Writer, s, base summary)) {
	c := res.Config
	for _, size := range c.Sizes {
		sums, base, haveBase := summaries(res, size, baseline)
		fmt.Fprintf(out, "\n### %s, %s %s, %d connections, median of %d rounds x %s\n\n",
			title, sizeName(size), item, c.Conns, c.Rounds, c.Duration)
		fmt.Fprintf(out, "| mode | req/s | x %[1]s | server CPU µs/req | x %[1]s | user µs/req | p50 | p99 | alloc B/req | window alloc B/req | GCs/s |\n", baseline)
		fmt.Fprintln(out, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, s := range sums {
			rpsRatio, cpuRatio := ratios(s, base, haveBase)
			fmt.Fprintf(out, "| %s | %.0f | %s | %.1f | %s | %.1f | %s | %s | %.0f | %.0f | %.1f |\n",
				s.mode, s.reqPerSec, rpsRatio, s.cpuPerReq, cpuRatio, s.userReq,
				fmtLatency(s.p50), fmtLatency(s.p99), s.allocReq, s.winAlloc, s.gcPerSec)
		}
		reportPerRound(out, sums, c.Rounds, "req/s / server CPU µs/req", rpsAndCPU)
		printMatrixTargets(out, size, sums, base, haveBase, targets)
	}
}

// printMatrixTargets prints, when targets is not nil and the baseline
// ran, the targets at size of every mode of sums.
func printMatrixTargets(out io.Writer, size int, sums []summary, base summary, haveBase bool, targets func(out io.Writer, s, base summary)) {
	if targets == nil || !haveBase {
		return
	}
	var lines strings.Builder
	for _, s := range sums {
		targets(&lines, s, base)
	}
	if lines.Len() > 0 {
		fmt.Fprintf(out, "\nTargets at %s:\n\n%s", sizeName(size), lines.String())
	}
}

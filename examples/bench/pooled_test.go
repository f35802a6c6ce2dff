package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/bufpool"
)

// TestServersEcho: every TCP echo server, the pooled and buffered ones
// included, echoes messages of one byte, one read and several reads, on
// two connections at once, with the pool in poison mode.
func TestServersEcho(t *testing.T) {
	defer bufpool.SetPoison(bufpool.SetPoison(true)) // a pooled mode that used a buffer after its Release would echo poison
	for _, mode := range allModes {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			addr, err := servers[mode](ctx, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			conns, err := dialAll(addr.String(), 2)
			if err != nil {
				t.Fatal(err)
			}
			defer closeAll(conns)
			for _, size := range []int{1, 1024, 100 << 10, 300 << 10} {
				msg, buf := echoMessage(size), make([]byte, size)
				for i := range 3 {
					for j, c := range conns {
						if err := echoOnce(c, msg, buf); err != nil {
							t.Fatalf("%d bytes, echo %d, connection %d: %v", size, i+1, j, err)
						}
					}
				}
			}
		})
	}
}

// TestServerSnapshot: a server child answers each line on its stdin with
// its figures then, and still prints its final figures as it stops.
func TestServerSnapshot(t *testing.T) {
	srv, err := startServer(childConfig{mode: "events", addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	first, err := srv.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	conns, err := dialAll(srv.addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(conns)
	msg, buf := echoMessage(64<<10), make([]byte, 64<<10)
	for range 20 {
		if err := echoOnce(conns[0], msg, buf); err != nil {
			t.Fatal(err)
		}
	}
	second, err := srv.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// The events mode copies every read: 20 echoes of 64 KiB allocate at
	// least as much again.
	if grew := second.TotalAlloc - first.TotalAlloc; second.TotalAlloc < first.TotalAlloc || grew < 20*64<<10 {
		t.Errorf("TotalAlloc went from %d to %d over 20 echoes of 64 KiB", first.TotalAlloc, second.TotalAlloc)
	}
	if second.NumGC < first.NumGC {
		t.Errorf("NumGC went from %d to %d", first.NumGC, second.NumGC)
	}
	_, final, err := srv.stop()
	if err != nil {
		t.Fatal(err)
	}
	if final.TotalAlloc < second.TotalAlloc {
		t.Errorf("final TotalAlloc %d, below the last snapshot's %d", final.TotalAlloc, second.TotalAlloc)
	}
}

func TestWindowFill(t *testing.T) {
	t0 := time.Now()
	for _, tc := range []struct {
		name     string
		w        window
		measured int64
		want     runResult
	}{
		{"two marks", window{
			stats: []serverStats{{NumGC: 10, TotalAlloc: 1000}, {NumGC: 14, TotalAlloc: 9000}},
			times: []time.Time{t0, t0.Add(2 * time.Second)},
		}, 100, runResult{WindowGCs: 4, GCPerSec: 2, WindowAllocPerReq: 80}},
		{"no request", window{
			stats: []serverStats{{NumGC: 1}, {NumGC: 1}},
			times: []time.Time{t0, t0.Add(time.Second)},
		}, 0, runResult{}},
		{"one mark", window{stats: []serverStats{{NumGC: 3}}, times: []time.Time{t0}}, 100, runResult{}},
	} {
		var r runResult
		tc.w.fill(&r, tc.measured)
		if r != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, r, tc.want)
		}
	}
}

// TestRunOneMeasuresWindow: a run reports the server's allocations and
// GCs over the measured window, next to those over its life.
func TestRunOneMeasuresWindow(t *testing.T) {
	cfg := config{conns: 2, warmup: 20 * time.Millisecond, duration: 200 * time.Millisecond}
	r, err := runOne(cfg, "events", 16<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The events mode copies every read: at least the message per request.
	if r.WindowAllocPerReq < 16<<10 || r.AllocPerReq < 16<<10 {
		t.Errorf("alloc per request %.0f over the window, %.0f over the life: want at least %d", r.WindowAllocPerReq, r.AllocPerReq, 16<<10)
	}
	if r.NumGC < r.WindowGCs || r.GCPerSec < 0 || (r.WindowGCs > 0) != (r.GCPerSec > 0) {
		t.Errorf("GCs: %d over the life, %d over the window, %.1f/s", r.NumGC, r.WindowGCs, r.GCPerSec)
	}
}

// TestReportPooledTargets: the report prints GCs/s and issue 14's
// targets for the pooled modes, the allocation one on the window's
// figure.
func TestReportPooledTargets(t *testing.T) {
	res := &results{}
	res.Config.Sizes, res.Config.Rounds, res.Config.Duration = []int{1024, 100 << 10}, 1, "1s"
	res.Config.Modes = []string{"netconn", "events-pooled/poll", "buffered/poll", "rw-pooled/poll"}
	for _, size := range res.Config.Sizes {
		res.Runs = append(res.Runs,
			runResult{Mode: "netconn", Size: size, Round: 1, ReqPerSec: 1000, CPUPerReq: 10, GCPerSec: 3},
			runResult{Mode: "events-pooled/poll", Size: size, Round: 1, ReqPerSec: 1000, CPUPerReq: 11, WindowAllocPerReq: 40, GCPerSec: 0.5},
			runResult{Mode: "buffered/poll", Size: size, Round: 1, ReqPerSec: 900, CPUPerReq: 9},
			runResult{Mode: "rw-pooled/poll", Size: size, Round: 1, ReqPerSec: 1000, CPUPerReq: 13})
	}
	var out strings.Builder
	report(&out, res)
	for _, want := range []string{
		"| alloc B/req | window alloc B/req | GCs/s |",
		"| 0 | 40 | 0.5 |",
		"- events-pooled/poll server CPU/req: 1.10x (target <= 1.15x): met",
		"- events-pooled/poll window alloc B/req: 40 (target <= 64): met",
		"- events-pooled/poll server CPU/req: 1.10x (target <= 1.10x): met",
		"- buffered/poll server CPU/req: 0.90x (target <= 1.00x): met",
		"- buffered/poll req/s: 0.90x (target >= 0.95x): **missed**",
		"- rw-pooled/poll server CPU/req: 1.30x (target <= 1.20x): **missed**",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
}

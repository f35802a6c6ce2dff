package main

import (
	"context"
	"maps"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestParseIdle(t *testing.T) {
	const maxConns = 19928
	for _, tc := range []struct {
		in   string
		want []int
		err  string // "" for none
	}{
		{"10000", []int{10000}, ""},
		{"10000,50000", []int{10000, 50000}, ""},
		{" 10000 , 19000 ", []int{10000, 19000}, ""},
		{"10000,max", []int{10000, maxConns}, ""},
		{"0", nil, ""},
		{"", nil, ""},
		{"10000,0", nil, "bad -idle count \"0\""},
		{"-5", nil, "bad -idle count"},
		{"ten", nil, "bad -idle count \"ten\""},
		{"10000,,50000", nil, "bad -idle count"},
		{"10000,10000", nil, "given twice"},
		{"19928,max", nil, "given twice"},
	} {
		got, err := parseIdle(tc.in, maxConns)
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("parseIdle(%q) error %v, want %q", tc.in, err, tc.err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("parseIdle(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestIdleFDLimit: a count that needs more descriptors than the hard
// limit is skipped, its reason giving the limit and the descriptors each
// process needs; the largest count that fits does fit.
func TestIdleFDLimit(t *testing.T) {
	l := fdLimits{hard: 20000, clientOpen: 10}
	if got, want := l.max(), 20000-idleHeadroom-10; got != want {
		t.Fatalf("max() = %d, want %d", got, want)
	}
	for _, n := range []int{1, 10000, l.max()} {
		if skip, fits := l.check(n); !fits {
			t.Errorf("%d connections under a hard limit of 20000 skipped: %s", n, skip.Reason)
		}
	}
	for _, tc := range []struct {
		n    int
		want []string
	}{
		{50000, []string{"hard limit is 20000", "50000 connections need 50064 descriptors in the server process", "50074 in the client process", "the largest count that fits is 19926"}},
		// Only the client is short: the server's need is not given.
		{l.max() + 1, []string{"hard limit is 20000", "20001 in the client process"}},
	} {
		skip, fits := l.check(tc.n)
		if fits {
			t.Errorf("%d connections fit under a hard limit of 20000", tc.n)
			continue
		}
		if skip.Conns != tc.n || skip.Limit != 20000 || skip.Max != l.max() {
			t.Errorf("%d connections: skip %+v", tc.n, skip)
		}
		for _, w := range tc.want {
			if !strings.Contains(skip.Reason, w) {
				t.Errorf("%d connections: reason %q lacks %q", tc.n, skip.Reason, w)
			}
		}
		if tc.n == l.max()+1 && strings.Contains(skip.Reason, "server process") {
			t.Errorf("the server fits %d connections, but the reason blames it: %q", tc.n, skip.Reason)
		}
	}
	if got := (fdLimits{hard: 50, clientOpen: 10}).max(); got != 0 {
		t.Errorf("max() under a hard limit below the headroom = %d, want 0", got)
	}
}

// TestRunIdleSkipsOverLimit: the idle pass records a count over the
// limit as skipped, with its reason, in the results and the report, and
// starts no server for it.
func TestRunIdleSkipsOverLimit(t *testing.T) {
	var res results
	res.Config.IdleSize = 1024
	cfg := config{idle: []int{50000}, modes: []string{baseline, "protocol/poll"}, idleSize: 1024}
	if err := runIdle(cfg, fdLimits{hard: 20000}, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Idle) != 0 || len(res.IdleSkipped) != 1 || res.IdleSkipped[0].Conns != 50000 {
		t.Fatalf("idle %+v, skipped %+v", res.Idle, res.IdleSkipped)
	}
	var out strings.Builder
	reportIdle(&out, &res, baseline)
	if want := "### Idle memory, 50000 connections: skipped\n\nRLIMIT_NOFILE's hard limit is 20000"; !strings.Contains(out.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, out.String())
	}
}

func TestIdleSources(t *testing.T) {
	srcs := idleSources("linux", 20, 7)
	want := []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.4")}
	if !slices.Equal(srcs, want) {
		t.Errorf("idleSources(20, 7) = %v, want %v", srcs, want)
	}
	if n := len(idleSources("linux", 50000, idlePerSource)); n != 10 {
		t.Errorf("50000 connections at %d per source: %d sources, want 10", idlePerSource, n)
	}
	if srcs := idleSources("darwin", 20, 7); srcs != nil {
		t.Errorf("sources off Linux: %v", srcs)
	}
	if got := sourceRange([]string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}); got != "127.0.0.2-127.0.0.4 (3)" {
		t.Errorf("sourceRange = %q", got)
	}
}

// TestIdleSpreadsSourceAddresses: a tiny idle pass of 20 connections at
// 7 per source address comes, as the server sees it, from 127.0.0.2,
// 127.0.0.3 and 127.0.0.4.
func TestIdleSpreadsSourceAddresses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("127.0.0.2 and up are local on Linux's loopback only")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 20
	from := make(chan string, n) // the source address of every connection the server accepted
	addr, err := serveEachNetConn(ctx, "127.0.0.1:0", func(c net.Conn) {
		from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		echoNetConn(c)
	})
	if err != nil {
		t.Fatal(err)
	}
	srcs := idleSources(runtime.GOOS, n, 7)
	conns, err := openIdle(dialTCP, addr.String(), srcs, n, 4, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(conns)
	// openIdle returns once every connection has been echoed: the server
	// has accepted each.
	got := map[string]int{}
	for range n {
		got[<-from]++
	}
	want := map[string]int{"127.0.0.2": 7, "127.0.0.3": 7, "127.0.0.4": 6}
	if !maps.Equal(got, want) {
		t.Errorf("connections by source address as the server saw them: %v, want %v", got, want)
	}
}

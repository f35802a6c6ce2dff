package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/bufpool"
)

func TestLinesServersEcho(t *testing.T) {
	defer bufpool.SetPoison(bufpool.SetPoison(true)) // a pooled mode that used a buffer after its Release would echo poison
	for _, mode := range linesModes {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			addr, err := linesServers[mode](ctx, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{linesMinSize, 64, 1024, linesMaxSize} {
				msg := lineMessage(size)
				if len(msg) != size || bytes.IndexByte(msg, '\n') != size-1 {
					t.Fatalf("lineMessage(%d) = %q", size, msg)
				}
				conns, err := dialAll(addr.String(), 1)
				if err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, size)
				for i := range 3 {
					if err := echoOnce(conns[0], msg, buf); err != nil {
						t.Fatalf("%d bytes, line %d: %v", size, i+1, err)
					}
				}
				closeAll(conns)
			}
		})
	}
}

func TestLinesLoad(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := serveLinesRx(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns, err := dialAll(addr.String(), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(conns)
	res, err := runLoad(conns, lineMessage(100), 10*time.Millisecond, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Measured == 0 || res.Total < res.Measured {
		t.Fatalf("load result %+v", res)
	}
}

func TestCheckLines(t *testing.T) {
	for _, tc := range []struct {
		cfg config
		ok  bool
	}{
		{config{lines: true, modes: linesModes, sizes: []int{64, 1024}}, true},
		{config{modes: allModes, sizes: []int{1024}}, true},
		{config{modes: []string{"lines-rx"}, sizes: []int{1024}}, false},
		{config{lines: true, modes: []string{"netconn"}, sizes: []int{1024}}, false},
		{config{lines: true, udp: true, modes: linesModes, sizes: []int{1024}}, false},
		{config{lines: true, modes: linesModes, sizes: []int{1}}, false},
		{config{lines: true, modes: linesModes, sizes: []int{linesMaxSize + 1}}, false},
	} {
		if err := checkLines(&tc.cfg); (err == nil) != tc.ok {
			t.Errorf("checkLines(%+v) = %v", tc.cfg, err)
		}
	}
}

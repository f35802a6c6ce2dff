package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/bufpool"
)

// listenPeer binds a UDP socket on a free loopback port, for a scripted
// peer.
func listenPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return c
}

// dialPeer returns a load worker whose socket is connected to addr.
func dialPeer(t *testing.T, addr string, size int, timeout time.Duration) *udpWorker {
	t.Helper()
	conns, err := dialUDP(addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeAll(conns) })
	msg := bytes.Repeat([]byte{'u'}, size)
	return &udpWorker{c: conns[0], msg: msg, buf: make([]byte, size+1), timeout: timeout}
}

func TestUDPServersEcho(t *testing.T) {
	defer bufpool.SetPoison(bufpool.SetPoison(true)) // a pooled mode that used a buffer after its Release would echo poison
	for _, mode := range udpModes {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			addr, err := udpServers[mode](ctx, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{udpMinSize, 64, 1024, udpMaxSize} {
				w := dialPeer(t, addr.String(), size, 5*time.Second)
				for i := range 3 {
					answered, late, err := w.exchange(time.Now())
					if err != nil || !answered || late != 0 {
						t.Fatalf("%d bytes, datagram %d: answered %v, late %d, %v", size, i+1, answered, late, err)
					}
				}
			}
		})
	}
}

func TestUDPExchangeDiscardsLateEcho(t *testing.T) {
	peer := listenPeer(t)
	w := dialPeer(t, peer.LocalAddr().String(), 64, 50*time.Millisecond)
	// The peer holds the first datagram until the second comes, then
	// answers both, the first one late.
	done := make(chan error, 1)
	go func() {
		first, second := make([]byte, 100), make([]byte, 100)
		n1, from, err := peer.ReadFromUDP(first)
		if err == nil {
			var n2 int
			if n2, _, err = peer.ReadFromUDP(second); err == nil {
				if _, err = peer.WriteToUDP(first[:n1], from); err == nil {
					_, err = peer.WriteToUDP(second[:n2], from)
				}
			}
		}
		done <- err
	}()
	answered, late, err := w.exchange(time.Now())
	if err != nil || answered || late != 0 {
		t.Fatalf("first datagram: answered %v, late %d, %v; want given up on", answered, late, err)
	}
	answered, late, err = w.exchange(time.Now())
	if err != nil || !answered || late != 1 {
		t.Fatalf("second datagram: answered %v, late %d, %v; want answered after one late echo", answered, late, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestUDPExchangeCorruptEcho(t *testing.T) {
	peer := listenPeer(t)
	w := dialPeer(t, peer.LocalAddr().String(), 64, 5*time.Second)
	go func() {
		b := make([]byte, 100)
		n, from, err := peer.ReadFromUDP(b)
		if err == nil {
			b[n-1] ^= 1 // same sequence number, one bit off
			_, _ = peer.WriteToUDP(b[:n], from)
		}
	}()
	if answered, _, err := w.exchange(time.Now()); err == nil || answered {
		t.Fatalf("answered %v, %v; want an error for a corrupt echo", answered, err)
	}
}

func TestRunUDPLoadCountsLosses(t *testing.T) {
	peer := listenPeer(t)
	// An echo that drops every fourth datagram of each sender.
	go func() {
		b := make([]byte, 2048)
		for {
			n, from, err := peer.ReadFromUDPAddrPort(b)
			if err != nil {
				return
			}
			if binary.BigEndian.Uint64(b)%4 != 0 {
				_, _ = peer.WriteToUDPAddrPort(b[:n], from)
			}
		}
	}()
	conns, err := dialUDP(peer.LocalAddr().String(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(conns)
	res, err := runUDPLoad(conns, 100, 0, 300*time.Millisecond, 20*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Three answered for one lost, per socket, give or take the last one.
	if res.Lost == 0 || res.Total < 2*res.Lost || res.Total > 4*res.Lost+2*3 || res.Late != 0 {
		t.Fatalf("total %d, lost %d, late %d: want about three echoes per loss", res.Total, res.Lost, res.Late)
	}
	if res.Measured == 0 || res.P50 <= 0 || res.P99 < res.P50 {
		t.Fatalf("measured %d, p50 %v, p99 %v", res.Measured, res.P50, res.P99)
	}
}

func TestCheckUDP(t *testing.T) {
	for _, tc := range []struct {
		udp   bool
		modes []string
		sizes []int
		err   string // "" for none
	}{
		{false, allModes, []int{1}, ""},
		{true, udpModes, []int{udpMinSize, 1024, udpMaxSize}, ""},
		{false, []string{"netconn", "udp-protocol"}, []int{1024}, "add -udp"},
		{true, []string{"udpconn", "protocol"}, []int{1024}, "TCP mode"},
		{true, udpModes, []int{udpMinSize - 1}, "-size"},
		{true, udpModes, []int{udpMaxSize + 1}, "-size"},
	} {
		cfg := config{udp: tc.udp, modes: tc.modes, sizes: tc.sizes}
		err := checkUDP(&cfg)
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("udp %v, modes %v, sizes %v: %v, want %q", tc.udp, tc.modes, tc.sizes, err, tc.err)
		}
	}
}

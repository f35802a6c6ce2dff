package main

// The sendfile pass (-sendfile) measures transport.SendFile against the
// standard library's way to send a file: io.Copy from the *os.File to a
// *net.TCPConn (which uses sendfile(2) itself on Linux, through
// TCPConn.ReadFrom). Each round sends the same -filesize file once per
// mode, interleaved (iocopy, sendfile, iocopy, ...), over loopback TCP to
// a receiver in the same process that reads into a 64 KiB buffer and
// discards; a transfer ends when the receiver has read the sender's EOF.
// It reports, per mode, the medians over the rounds of the throughput
// and of the process's CPU time (user+system, receiver included: the
// same receiver for both) per GiB, with ratios to iocopy.
//
//	iocopy    net.Dial, io.Copy(conn, f), CloseWrite (the baseline)
//	sendfile  transport.Dial, transport.SendFile(ctx, t, f, 0, 0), Close
//	          and <-Done

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rxnet/rxnet/transport"
)

// sendfileModes are the -sendfile modes, baseline first.
var sendfileModes = []string{"iocopy", "sendfile"}

// sendfileRun is one transfer.
type sendfileRun struct {
	Mode    string
	Round   int
	Bytes   int64
	Elapsed time.Duration
	CPU     time.Duration // the process's user+system time over the transfer
}

// sendfileMain runs the sendfile pass and returns the exit status.
func sendfileMain(size int64, rounds int, out io.Writer) int {
	if size <= 0 || rounds <= 0 {
		fmt.Fprintln(os.Stderr, "bench: -filesize and -rounds must be positive")
		return 2
	}
	runs, err := runSendfile(size, rounds, out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	reportSendfile(out, runs)
	return 0
}

func runSendfile(size int64, rounds int, out io.Writer) ([]sendfileRun, error) {
	dir, err := os.MkdirTemp("", "bench-sendfile")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "file")
	if err := writeBenchFile(name, size); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "command: %s\n", commandLine())
	m := describeMachine()
	fmt.Fprintf(out, "machine: %s %s/%s, %d CPUs (%s), Linux %s, load average %s at start\n",
		m.GoVersion, m.OS, m.Arch, m.CPUs, m.CPUModel, m.Kernel, m.LoadAvg)
	var runs []sendfileRun
	for round := 1; round <= rounds; round++ {
		for _, mode := range sendfileModes {
			r, err := sendfileOne(name, mode, size)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round, mode, err)
			}
			r.Round = round
			fmt.Fprintf(os.Stderr, "round %d/%d %-9s %s in %v: %7.0f MiB/s, %v CPU\n",
				round, rounds, mode, sizeMiB(r.Bytes), r.Elapsed.Round(time.Microsecond),
				mib(r.Bytes)/r.Elapsed.Seconds(), r.CPU.Round(time.Microsecond))
			runs = append(runs, r)
		}
	}
	return runs, nil
}

// writeBenchFile writes size bytes that are not all zeros (a sparse file
// would read faster than a real one), 1 MiB at a time.
func writeBenchFile(name string, size int64) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i % 251)
	}
	for left := size; left > 0; left -= int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(left, int64(len(chunk)))]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// sendfileOne sends the file once with mode to a fresh receiver.
func sendfileOne(name, mode string, size int64) (sendfileRun, error) {
	r := sendfileRun{Mode: mode}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go receive(ln, got)
	f, err := os.Open(name)
	if err != nil {
		return r, err
	}
	defer f.Close()

	cpu0, start := processCPU(), time.Now()
	switch mode {
	case "iocopy":
		err = sendIOCopy(ln.Addr().String(), f)
	default:
		err = sendSendFile(ln.Addr().String(), f)
	}
	n := <-got
	r.Elapsed, r.CPU, r.Bytes = time.Since(start), processCPU()-cpu0, n
	if err == nil && n != size {
		err = fmt.Errorf("the receiver read %d bytes, want %d", n, size)
	}
	return r, err
}

// receive accepts one connection and reads it to its end, discarding.
func receive(ln net.Listener, got chan<- int64) {
	c, err := ln.Accept()
	if err != nil {
		got <- 0
		return
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, err := c.Read(buf)
		n += int64(k)
		if err != nil {
			got <- n
			return
		}
	}
}

func sendIOCopy(addr string, f *os.File) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.Copy(c, f); err != nil {
		return err
	}
	return c.(*net.TCPConn).CloseWrite()
}

func sendSendFile(addr string, f *os.File) error {
	ctx := context.Background()
	t, err := transport.Dial(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	_, err = transport.SendFile(ctx, t, f, 0, 0)
	t.Close()
	<-t.Done()
	return errors.Join(err, t.Err())
}

// processCPU returns this process's user+system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportSendfile prints the medians per mode and their ratios to iocopy.
func reportSendfile(out io.Writer, runs []sendfileRun) {
	type med struct{ mibps, cpuPerGiB float64 }
	meds := map[string]med{}
	for _, mode := range sendfileModes {
		var rate, cpu []float64
		for _, r := range runs {
			if r.Mode == mode && r.Bytes > 0 {
				rate = append(rate, mib(r.Bytes)/r.Elapsed.Seconds())
				cpu = append(cpu, float64(r.CPU)/1e6/(float64(r.Bytes)/(1<<30)))
			}
		}
		if len(rate) > 0 {
			meds[mode] = med{median(rate), median(cpu)}
		}
	}
	fmt.Fprintf(out, "\nsendfile pass: medians over %d rounds (ratios to %s)\n", len(runs)/len(sendfileModes), sendfileModes[0])
	fmt.Fprintf(out, "%-9s %10s %7s %14s %7s\n", "mode", "MiB/s", "ratio", "CPU ms/GiB", "ratio")
	base := meds[sendfileModes[0]]
	for _, mode := range sendfileModes {
		m, ok := meds[mode]
		if !ok {
			continue
		}
		fmt.Fprintf(out, "%-9s %10.0f %6.2fx %14.0f %6.2fx\n", mode, m.mibps, m.mibps/base.mibps, m.cpuPerGiB, m.cpuPerGiB/base.cpuPerGiB)
	}
}

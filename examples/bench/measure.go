package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// raiseNoFile raises the soft limit on open files to the hard limit and
// returns the new soft limit.
func raiseNoFile() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return uint64(lim.Cur), nil // int64 on the BSDs
}

// usage is what a process used, from its rusage.
type usage struct {
	CPU    time.Duration // user + system time
	User   time.Duration // user time alone
	MaxRSS int64         // peak resident set, bytes
	MinFlt int64         // minor page faults
}

// childUsage returns an exited child's rusage.
func childUsage(ps *os.ProcessState) (usage, error) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return usage{}, fmt.Errorf("no rusage for the server process on %s", runtime.GOOS)
	}
	return fromRusage(ru), nil
}

// selfUsage returns this process's rusage so far.
func selfUsage() usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return usage{}
	}
	return fromRusage(&ru)
}

func fromRusage(ru *syscall.Rusage) usage {
	user := time.Duration(ru.Utime.Nano())
	cpu := user + time.Duration(ru.Stime.Nano())
	return usage{CPU: cpu, User: user, MaxRSS: maxRSSBytes(ru.Maxrss), MinFlt: ru.Minflt}
}

// maxRSSBytes converts ru_maxrss, which Linux reports in KiB (and macOS
// in bytes).
func maxRSSBytes(v int64) int64 {
	if runtime.GOOS == "darwin" {
		return v
	}
	return v << 10
}

// vmRSS returns a process's resident set size from /proc/PID/status.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return statusField(b, "VmRSS")
}

// statusField parses a "Name:   1234 kB" line of /proc/PID/status, in
// bytes.
func statusField(status []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != name {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s in /proc status", name)
}

// machine describes where the benchmark ran.
type machine struct {
	GoVersion string
	OS, Arch  string
	CPUs      int
	CPUModel  string
	Kernel    string
	LoadAvg   string // /proc/loadavg at the start of the run
}

func describeMachine() machine {
	m := machine{
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		CPUs:      runtime.NumCPU(),
		CPUModel:  "unknown",
		Kernel:    "unknown",
		LoadAvg:   loadAvg(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// loadAvg returns the first three fields of /proc/loadavg, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

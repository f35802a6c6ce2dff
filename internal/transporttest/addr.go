package transporttest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

var pathSeq atomic.Int64

// LocalAddr returns a fresh address to bind on network: 127.0.0.1:0, or
// for a Unix network a new socket path in a directory removed when the
// test ends, kept short (sun_path holds at most 108 bytes).
func LocalAddr(t testing.TB, network string) string {
	t.Helper()
	if network != "unix" && network != "unixgram" {
		return "127.0.0.1:0"
	}
	dir := t.TempDir()
	if len(dir) > 80 {
		d, err := os.MkdirTemp("", "rx")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	return filepath.Join(dir, fmt.Sprint(pathSeq.Add(1)))
}

package transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rxnet/rxnet/transport"
)

// Tests of SendFile (DESIGN: WR8; asyncio-rules SF4).

// sfPairs runs f over a dialed TCP, a dialed Unix and a dialed TLS 1.3
// transport, each with its peer (a plain net.Conn, or a crypto/tls one).
func sfPairs(t *testing.T, f func(t *testing.T, tr transport.Transport, peer net.Conn)) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			p := dialedPair(t, network)
			f(t, p.Transport, p.Peer)
		})
	}
	t.Run("tls", func(t *testing.T) {
		tr, peer := tlsPair(t, "dialed", nil)
		f(t, tr, peer)
	})
}

// sfFile makes a file of n pattern bytes (patternAt) and opens it for
// reading; it is closed when the test ends.
func sfFile(t *testing.T, n int) *os.File {
	t.Helper()
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, patternAt(0, n), 0o600); err != nil {
		t.Fatal(err)
	}
	return sfOpen(t, name)
}

// sfSparse makes a file of n zero bytes that takes no disk space.
func sfSparse(t *testing.T, n int64) *os.File {
	t.Helper()
	name := filepath.Join(t.TempDir(), "sparse")
	if err := os.WriteFile(name, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(name, n); err != nil {
		t.Fatal(err)
	}
	return sfOpen(t, name)
}

func sfOpen(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// sfRead reads exactly n bytes at the peer.
func sfRead(t *testing.T, peer net.Conn, n int) []byte {
	t.Helper()
	peer.SetReadDeadline(time.Now().Add(waitTimeout))
	defer peer.SetReadDeadline(time.Time{})
	b := make([]byte, n)
	if k, err := io.ReadFull(peer, b); err != nil {
		t.Fatalf("peer read: %v after %d of %d bytes", err, k, n)
	}
	return b
}

// sfReadAsync reads exactly n bytes at the peer on a goroutine.
func sfReadAsync(peer net.Conn, n int) <-chan []byte {
	got := make(chan []byte, 1)
	go func() {
		peer.SetReadDeadline(time.Now().Add(waitTimeout))
		b := make([]byte, n)
		k, _ := io.ReadFull(peer, b)
		got <- b[:k]
	}()
	return got
}

// sfPosition returns f's position.
func sfPosition(t *testing.T, f *os.File) int64 {
	t.Helper()
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

type sfResult struct {
	n   int64
	err error
}

// sfStart runs SendFile on a goroutine.
func sfStart(ctx context.Context, tr transport.Transport, f *os.File, offset, count int64) <-chan sfResult {
	res := make(chan sfResult, 1)
	go func() {
		n, err := transport.SendFile(ctx, tr, f, offset, count)
		res <- sfResult{n, err}
	}()
	return res
}

func sfWait(t *testing.T, res <-chan sfResult) sfResult {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("SendFile did not return within %v", waitTimeout)
		return sfResult{}
	}
}

func sfWrite(t *testing.T, tr transport.Transport, p string) {
	t.Helper()
	if _, err := tr.Write([]byte(p)); err != nil {
		t.Fatalf("Write(%q): %v", p, err)
	}
}

// TestWR8_SF4_SendFileDeliversEveryByte: a file of several MiB arrives
// whole, a Write made after SendFile returns comes after it, the file's
// position is offset+sent, and Stats counts the bytes.
func TestWR8_SF4_SendFileDeliversEveryByte(t *testing.T) {
	sfPairs(t, func(t *testing.T, tr transport.Transport, peer net.Conn) {
		const size = 5<<20 + 123
		f := sfFile(t, size)
		sfWrite(t, tr, "head")
		got := sfReadAsync(peer, 4+size+4)
		n, err := transport.SendFile(context.Background(), tr, f, 0, 0)
		if err != nil || n != size {
			t.Fatalf("SendFile = %d, %v; want %d, nil", n, err, size)
		}
		sfWrite(t, tr, "tail")
		b := <-got
		if len(b) != 4+size+4 {
			t.Fatalf("peer read %d bytes, want %d", len(b), 4+size+4)
		}
		if string(b[:4]) != "head" || string(b[4+size:]) != "tail" || !bytes.Equal(b[4:4+size], patternAt(0, size)) {
			t.Fatal("peer: the bytes are not head, the file, tail")
		}
		if pos := sfPosition(t, f); pos != size {
			t.Fatalf("file position %d, want %d", pos, size)
		}
		if w := tr.Stats().BytesWritten; w < size+8 {
			t.Fatalf("Stats().BytesWritten = %d, want at least %d", w, size+8)
		}
	})
}

// TestWR8_SF4_SendFileOffsetAndCount: offset counts from the start of the
// file, not from its position; count bounds the bytes, a short file ends
// the send early, count <= 0 means to the end; the position is
// offset+sent afterwards.
func TestWR8_SF4_SendFileOffsetAndCount(t *testing.T) {
	const size = 100 << 10
	cases := []struct {
		name          string
		offset, count int64
		want          int64
	}{
		{name: "region", offset: 100, count: 1000, want: 1000},
		{name: "past the end", offset: size - 10, count: 100, want: 10},
		{name: "to the end", offset: 5000, count: 0, want: size - 5000},
		{name: "negative count", offset: 7, count: -1, want: size - 7},
		{name: "offset past the end", offset: size + 5, count: 10, want: 0},
	}
	sfPairs(t, func(t *testing.T, tr transport.Transport, peer net.Conn) {
		f := sfFile(t, size)
		for _, tc := range cases {
			if _, err := f.Seek(3, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			n, err := transport.SendFile(context.Background(), tr, f, tc.offset, tc.count)
			if err != nil || n != tc.want {
				t.Fatalf("%s: SendFile = %d, %v; want %d, nil", tc.name, n, err, tc.want)
			}
			if pos := sfPosition(t, f); pos != tc.offset+n {
				t.Fatalf("%s: file position %d, want %d", tc.name, pos, tc.offset+n)
			}
			if n > 0 && !bytes.Equal(sfRead(t, peer, int(n)), patternAt(tc.offset, int(n))) {
				t.Fatalf("%s: peer got other bytes", tc.name)
			}
		}
		sfWrite(t, tr, "end")
		if got := sfRead(t, peer, 3); string(got) != "end" {
			t.Fatalf("peer read %q after the cases, want end", got)
		}
	})
}

// TestWR8_SendFilePipeCopies: a pipe is not a regular file: SendFile
// copies it from where it is, count still applies, and an offset is an
// error.
func TestWR8_SendFilePipeCopies(t *testing.T) {
	sfPairs(t, func(t *testing.T, tr transport.Transport, peer net.Conn) {
		r, w := osPipe(t)
		const size = 300 << 10
		go func() {
			w.Write(patternAt(0, size))
			w.Close()
		}()
		if _, err := transport.SendFile(context.Background(), tr, r, 1, 0); !errors.Is(err, os.ErrInvalid) {
			t.Fatalf("SendFile(pipe, offset 1) = %v, want os.ErrInvalid", err)
		}
		got := sfReadAsync(peer, size)
		n, err := transport.SendFile(context.Background(), tr, r, 0, 1000)
		if err != nil || n != 1000 {
			t.Fatalf("SendFile(pipe, count 1000) = %d, %v", n, err)
		}
		n, err = transport.SendFile(context.Background(), tr, r, 0, 0)
		if err != nil || n != size-1000 {
			t.Fatalf("SendFile(pipe) = %d, %v; want %d", n, err, size-1000)
		}
		if !bytes.Equal(<-got, patternAt(0, size)) {
			t.Fatal("peer got other bytes")
		}
	})
}

// TestWR8_SendFileRefusedFileCopies: a regular file that sendfile(2)
// refuses (EINVAL: /proc/self/cmdline on this kernel, as most /proc
// files) is copied instead, with offset and count honoured.
func TestWR8_SendFileRefusedFileCopies(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("no /proc on %s", runtime.GOOS)
	}
	want, err := os.ReadFile("/proc/self/cmdline")
	if err != nil || len(want) < 4 {
		t.Skipf("/proc/self/cmdline: %v", err)
	}
	networks(t, func(t *testing.T, network string) {
		p := dialedPair(t, network)
		f := sfOpen(t, "/proc/self/cmdline")
		n, err := transport.SendFile(context.Background(), p.Transport, f, 0, 0)
		if err != nil || n != int64(len(want)) {
			t.Fatalf("SendFile = %d, %v; want %d", n, err, len(want))
		}
		n, err = transport.SendFile(context.Background(), p.Transport, f, 1, 3)
		if err != nil || n != 3 {
			t.Fatalf("SendFile(offset 1, count 3) = %d, %v", n, err)
		}
		if pos := sfPosition(t, f); pos != 4 {
			t.Fatalf("file position %d, want 4", pos)
		}
		got := sfRead(t, p.Peer, len(want)+3)
		if !bytes.Equal(got, append(want, want[1:4]...)) {
			t.Fatalf("peer read %q, want %q then %q", got, want, want[1:4])
		}
	})
}

// TestWR8_SendFileCancelStopsBetweenChunks: against a peer that stops
// reading, cancelling ctx ends SendFile (blocked on a full socket, or in
// Drain over TLS) with ctx's error and the bytes sent; the position
// says how far it got, and the transport still works: a Write goes
// after those bytes.
func TestWR8_SendFileCancelStopsBetweenChunks(t *testing.T) {
	sfPairs(t, func(t *testing.T, tr transport.Transport, peer net.Conn) {
		const size = 256 << 20 // far more than the kernel buffers
		f := sfSparse(t, size)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		res := sfStart(ctx, tr, f, 0, 0)
		sfRead(t, peer, 1) // the first chunk is out: SendFile runs
		cancel()
		r := sfWait(t, res)
		if !errors.Is(r.err, context.Canceled) || r.n <= 0 || r.n >= size {
			t.Fatalf("SendFile = %d, %v; want 0 < n < %d, context.Canceled", r.n, r.err, size)
		}
		if pos := sfPosition(t, f); pos != r.n {
			t.Fatalf("file position %d, want %d", pos, r.n)
		}
		sfWrite(t, tr, "tail")
		got := sfRead(t, peer, int(r.n)-1+4)
		if string(got[len(got)-4:]) != "tail" || bytes.ContainsFunc(got[:len(got)-4], func(r rune) bool { return r != 0 }) {
			t.Fatal("peer: not the file's zeros then tail")
		}
	})
}

// TestWR8_SendFileWritesDuringFollowFile: on a plain transport a Write
// and a WriteEOF made while SendFile runs are held (buffered, counted)
// and go after the file.
func TestWR8_SendFileWritesDuringFollowFile(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		p := dialedPair(t, network)
		const size = 16 << 20
		f := sfSparse(t, size)
		res := sfStart(context.Background(), p.Transport, f, 0, 0)
		sfRead(t, p.Peer, 1) // SendFile runs, and cannot end before the peer reads
		sfWrite(t, p.Transport, "mid")
		if got := p.Transport.WriteBufferSize(); got != 3 {
			t.Fatalf("WriteBufferSize() = %d during SendFile, want 3 (held)", got)
		}
		if err := p.Transport.WriteEOF(); err != nil {
			t.Fatalf("WriteEOF during SendFile: %v", err)
		}
		got := readAllAsync(p.Peer)
		if r := sfWait(t, res); r.err != nil || r.n != size {
			t.Fatalf("SendFile = %d, %v; want %d, nil", r.n, r.err, size)
		}
		b := <-got
		if len(b) != size-1+3 || string(b[size-1:]) != "mid" {
			t.Fatalf("peer read %d bytes ending %q, want %d ending mid", len(b), b[max(0, len(b)-3):], size+2)
		}
	})
}

// TestWR8_SendFileConcurrentCallsTakeTurns: two SendFile calls at once
// send one file, then the other, never mixed.
func TestWR8_SendFileConcurrentCallsTakeTurns(t *testing.T) {
	sfPairs(t, func(t *testing.T, tr transport.Transport, peer net.Conn) {
		const size = 1 << 20
		files := make([]*os.File, 2)
		for i, c := range []byte{'a', 'b'} {
			name := filepath.Join(t.TempDir(), string(c))
			if err := os.WriteFile(name, bytes.Repeat([]byte{c}, size), 0o600); err != nil {
				t.Fatal(err)
			}
			files[i] = sfOpen(t, name)
		}
		got := sfReadAsync(peer, 2*size)
		a := sfStart(context.Background(), tr, files[0], 0, 0)
		b := sfStart(context.Background(), tr, files[1], 0, 0)
		for _, res := range []<-chan sfResult{a, b} {
			if r := sfWait(t, res); r.err != nil || r.n != size {
				t.Fatalf("SendFile = %d, %v", r.n, r.err)
			}
		}
		all := <-got
		if len(all) != 2*size {
			t.Fatalf("peer read %d bytes, want %d", len(all), 2*size)
		}
		first, second := all[:size], all[size:]
		if bytes.Count(first, first[:1]) != size || bytes.Count(second, second[:1]) != size || first[0] == second[0] {
			t.Fatal("the two files are mixed")
		}
	})
}

// TestWR2_SendFileOnClosedTransport: SendFile gives the error Write
// gives: net.ErrClosed after Close or Abort, ErrEOFWritten after
// WriteEOF.
func TestWR2_SendFileOnClosedTransport(t *testing.T) {
	f := sfFile(t, 10)
	cases := []struct {
		name string
		end  func(transport.Transport)
		want error
	}{
		{"Close", func(tr transport.Transport) { tr.Close() }, net.ErrClosed},
		{"Abort", func(tr transport.Transport) { tr.Abort() }, net.ErrClosed},
		{"WriteEOF", func(tr transport.Transport) { tr.WriteEOF() }, transport.ErrEOFWritten},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := dialedPair(t, "tcp")
			tc.end(p.Transport)
			n, err := transport.SendFile(context.Background(), p.Transport, f, 0, 0)
			_, werr := p.Transport.Write([]byte("x"))
			if n != 0 || !errors.Is(err, tc.want) || !errors.Is(werr, tc.want) {
				t.Fatalf("SendFile = %d, %v; Write: %v; want 0 and %v for both", n, err, werr, tc.want)
			}
		})
	}
}

// TestWR2_SendFileStoppedByCloseOrAbort: a Close while SendFile waits on
// a full socket stops it before its next chunk, and the transport then
// closes; an Abort stops it at once. Either way SendFile reports the
// bytes sent and an error matching net.ErrClosed.
func TestWR2_SendFileStoppedByCloseOrAbort(t *testing.T) {
	for _, abort := range []bool{false, true} {
		t.Run(map[bool]string{false: "Close", true: "Abort"}[abort], func(t *testing.T) {
			p := dialedPair(t, "tcp")
			f := sfSparse(t, 256<<20)
			res := sfStart(context.Background(), p.Transport, f, 0, 0)
			sfRead(t, p.Peer, 1)
			if abort {
				p.Transport.Abort()
			} else {
				p.Transport.Close()
			}
			got := readAllAsync(p.Peer)
			r := sfWait(t, res)
			if !errors.Is(r.err, net.ErrClosed) || r.n <= 0 {
				t.Fatalf("SendFile = %d, %v; want n > 0, net.ErrClosed", r.n, r.err)
			}
			waitDone(t, p.Transport)
			if b := <-got; !abort && int64(len(b))+1 != r.n {
				t.Fatalf("peer read %d bytes after the first, SendFile sent %d", len(b), r.n)
			}
		})
	}
}

// notOurs is a Transport that rxnet did not make.
type notOurs struct{ transport.Transport }

// TestER1_SendFileBadArguments: a transport SendFile cannot drive, a nil
// file, a negative offset: clear errors, and the transport still works.
func TestER1_SendFileBadArguments(t *testing.T) {
	p := dialedPair(t, "tcp")
	f := sfFile(t, 10)
	_, w := osPipe(t)
	wp := writePipe(t, w)
	cases := []struct {
		name   string
		tr     transport.Transport
		f      *os.File
		offset int64
		want   error
	}{
		{"nil transport", nil, f, 0, transport.ErrSendFileUnsupported},
		{"foreign transport", notOurs{p.Transport}, f, 0, transport.ErrSendFileUnsupported},
		{"write pipe", wp.(transport.Transport), f, 0, transport.ErrSendFileUnsupported},
		{"nil file", p.Transport, nil, 0, os.ErrInvalid},
		{"negative offset", p.Transport, f, -1, os.ErrInvalid},
	}
	for _, tc := range cases {
		n, err := transport.SendFile(context.Background(), tc.tr, tc.f, tc.offset, 0)
		if n != 0 || !errors.Is(err, tc.want) {
			t.Errorf("%s: SendFile = %d, %v; want 0, %v", tc.name, n, err, tc.want)
		}
	}
	if !errors.Is(transport.ErrSendFileUnsupported, errors.ErrUnsupported) {
		t.Error("ErrSendFileUnsupported does not match errors.ErrUnsupported")
	}
	n, err := transport.SendFile(context.Background(), p.Transport, f, 0, 0)
	if err != nil || n != 10 || !bytes.Equal(sfRead(t, p.Peer, 10), patternAt(0, 10)) {
		t.Fatalf("SendFile after the bad calls = %d, %v", n, err)
	}
}

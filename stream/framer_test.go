package stream

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// splitCase is one call of a split function and what it must return.
type splitCase struct {
	name    string
	data    string
	atEOF   bool
	advance int
	token   string
	isToken bool  // token is non-nil (an empty frame counts)
	err     error // matched with errors.Is
}

func runSplitCases(t *testing.T, split bufio.SplitFunc, cases []splitCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			adv, tok, err := split([]byte(tt.data), tt.atEOF)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("split(%q, %v) error %v; want %v", tt.data, tt.atEOF, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("split(%q, %v) error %v", tt.data, tt.atEOF, err)
			}
			if adv != tt.advance || (tok != nil) != tt.isToken || string(tok) != tt.token {
				t.Errorf("split(%q, %v) = %d, %q (nil %v); want %d, %q (nil %v)",
					tt.data, tt.atEOF, adv, tok, tok == nil, tt.advance, tt.token, !tt.isToken)
			}
		})
	}
}

func TestSplitLines(t *testing.T) {
	runSplitCases(t, Lines(5).SplitFunc(), []splitCase{
		{name: "empty", data: "", advance: 0},
		{name: "empty at EOF", data: "", atEOF: true, advance: 0},
		{name: "line", data: "ab\ncd", advance: 3, token: "ab", isToken: true},
		{name: "crlf", data: "ab\r\ncd", advance: 4, token: "ab", isToken: true},
		{name: "one cr dropped", data: "ab\r\r\n", advance: 5, token: "ab\r", isToken: true},
		{name: "empty line", data: "\nx", advance: 1, token: "", isToken: true},
		{name: "partial", data: "abc", advance: 0},
		{name: "partial at EOF", data: "abc", atEOF: true, advance: 3, token: "abc", isToken: true},
		{name: "cr at EOF", data: "abc\r", atEOF: true, advance: 4, token: "abc", isToken: true},
		{name: "max line", data: "abcde\r\n", advance: 7, token: "abcde", isToken: true},
		{name: "max line waiting", data: "abcde\r", advance: 0},
		{name: "line over max", data: "abcdef\n", err: ErrFrameTooLarge},
		{name: "buffer over max", data: "abcdefg", err: ErrFrameTooLarge},
		{name: "final line over max", data: "abcdef", atEOF: true, err: ErrFrameTooLarge},
	})
}

func TestSplitDelimited(t *testing.T) {
	runSplitCases(t, Delimited([]byte("||"), 4).SplitFunc(), []splitCase{
		{name: "empty", data: "", advance: 0},
		{name: "empty at EOF", data: "", atEOF: true, advance: 0},
		{name: "frame", data: "ab||cd", advance: 4, token: "ab", isToken: true},
		{name: "empty frame", data: "||", advance: 2, token: "", isToken: true},
		{name: "half separator", data: "ab|", advance: 0},
		{name: "max frame", data: "abcd||", advance: 6, token: "abcd", isToken: true},
		{name: "max frame waiting", data: "abcd|", advance: 0},
		{name: "over max", data: "abcde||", err: ErrFrameTooLarge},
		{name: "buffer over max", data: "abcdef", err: ErrFrameTooLarge},
		{name: "truncated at EOF", data: "ab|", atEOF: true, err: ErrTruncatedFrame},
		{name: "over max at EOF", data: "abcdef", atEOF: true, err: ErrFrameTooLarge},
	})
}

func TestSplitLengthPrefixed(t *testing.T) {
	be := LengthPrefixed(2, binary.BigEndian, 5).SplitFunc()
	runSplitCases(t, be, []splitCase{
		{name: "empty", data: "", advance: 0},
		{name: "empty at EOF", data: "", atEOF: true, advance: 0},
		{name: "half prefix", data: "\x00", advance: 0},
		{name: "half prefix at EOF", data: "\x00", atEOF: true, err: ErrTruncatedFrame},
		{name: "frame", data: "\x00\x03abcX", advance: 5, token: "abc", isToken: true},
		{name: "empty frame", data: "\x00\x00", advance: 2, token: "", isToken: true},
		{name: "partial payload", data: "\x00\x03ab", advance: 0},
		{name: "partial payload at EOF", data: "\x00\x03ab", atEOF: true, err: ErrTruncatedFrame},
		{name: "max frame", data: "\x00\x05abcde", advance: 7, token: "abcde", isToken: true},
		{name: "prefix over max", data: "\x00\x06", err: ErrFrameTooLarge},
		{name: "huge prefix", data: "\xff\xff", err: ErrFrameTooLarge},
	})
	le := LengthPrefixed(4, binary.LittleEndian, 0).SplitFunc()
	runSplitCases(t, le, []splitCase{
		{name: "little endian", data: "\x02\x00\x00\x00hi", advance: 6, token: "hi", isToken: true},
		{name: "default max", data: "\x01\x00\x01\x00", err: ErrFrameTooLarge},
	})
	one := LengthPrefixed(1, binary.BigEndian, 1000).SplitFunc()
	runSplitCases(t, one, []splitCase{
		{name: "width 1", data: "\x01z", advance: 2, token: "z", isToken: true},
	})
	eight := LengthPrefixed(8, binary.BigEndian, 10).SplitFunc()
	runSplitCases(t, eight, []splitCase{
		{name: "width 8", data: "\x00\x00\x00\x00\x00\x00\x00\x01z", advance: 9, token: "z", isToken: true},
		{name: "width 8 beyond int", data: "\x80\x00\x00\x00\x00\x00\x00\x00", err: ErrFrameTooLarge},
	})
}

func TestSplitGeneral(t *testing.T) {
	runSplitCases(t, Split(bufio.ScanWords, 3).SplitFunc(), []splitCase{
		{name: "word", data: "ab cd", advance: 3, token: "ab", isToken: true},
		{name: "spaces skipped", data: "   ", advance: 3},
		{name: "word over max", data: "abcd ", err: ErrFrameTooLarge},
		{name: "buffer over max", data: "abc", err: ErrFrameTooLarge},
		{name: "word at EOF", data: "ab", atEOF: true, advance: 2, token: "ab", isToken: true},
	})
	negative := func([]byte, bool) (int, []byte, error) { return -1, nil, nil }
	tooFar := func(data []byte, _ bool) (int, []byte, error) { return len(data) + 1, nil, nil }
	runSplitCases(t, Split(negative, 0).SplitFunc(), []splitCase{
		{name: "negative advance", data: "x", err: bufio.ErrNegativeAdvance},
	})
	runSplitCases(t, Split(tooFar, 0).SplitFunc(), []splitCase{
		{name: "advance too far", data: "x", err: bufio.ErrAdvanceTooFar},
	})
}

func TestFramerBadArguments(t *testing.T) {
	tests := []struct {
		name string
		f    Framer
	}{
		{name: "zero", f: Framer{}},
		{name: "empty separator", f: Delimited(nil, 0)},
		{name: "width 3", f: LengthPrefixed(3, binary.BigEndian, 0)},
		{name: "width 0", f: LengthPrefixed(0, binary.BigEndian, 0)},
		{name: "nil order", f: LengthPrefixed(4, nil, 0)},
		{name: "nil split", f: Split(nil, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Err()
			if err == nil {
				t.Fatal("Err() = nil")
			}
			if _, _, got := tt.f.SplitFunc()([]byte("x\n"), false); got != err {
				t.Errorf("SplitFunc's error %v; want %v", got, err)
			}
			if b, got := tt.f.Append([]byte("keep"), []byte("x")); got != err || string(b) != "keep" {
				t.Errorf("Append = %q, %v; want %q, %v", b, got, "keep", err)
			}
			if got := tt.f.WriteFrame(io.Discard, []byte("x")); got != err {
				t.Errorf("WriteFrame error %v; want %v", got, err)
			}
		})
	}
	for _, f := range []Framer{Lines(0), Delimited([]byte{0}, 0), LengthPrefixed(2, binary.BigEndian, 0), Split(bufio.ScanRunes, 0)} {
		if err := f.Err(); err != nil {
			t.Errorf("a valid Framer's Err() = %v", err)
		}
	}
}

func TestFramerMaxBuffer(t *testing.T) {
	tests := []struct {
		name string
		f    Framer
		want int
	}{
		{name: "lines", f: Lines(10), want: 12},
		{name: "lines default", f: Lines(0), want: DefaultMaxFrame + 2},
		{name: "delimited", f: Delimited([]byte("\r\n\r\n"), -1), want: DefaultMaxFrame + 4},
		{name: "prefixed", f: LengthPrefixed(4, binary.BigEndian, 100), want: 104},
		{name: "split", f: Split(bufio.ScanWords, 7), want: 7},
	}
	for _, tt := range tests {
		if got := tt.f.MaxBuffer(); got != tt.want {
			t.Errorf("%s: MaxBuffer() = %d; want %d", tt.name, got, tt.want)
		}
	}
}

// TestSplitFuncWithScanner: SplitFunc and MaxBuffer work as a
// bufio.Scanner's split function and buffer, one byte at a time, and an
// oversize frame is ErrFrameTooLarge, not the scanner's ErrTooLong.
func TestSplitFuncWithScanner(t *testing.T) {
	scan := func(f Framer, input string) ([]string, error) {
		sc := bufio.NewScanner(iotest.OneByteReader(strings.NewReader(input)))
		sc.Buffer(make([]byte, 0, 1), f.MaxBuffer())
		sc.Split(f.SplitFunc())
		var got []string
		for sc.Scan() {
			got = append(got, sc.Text())
		}
		return got, sc.Err()
	}
	got, err := scan(Lines(5), "ab\r\n\nabcde\r\nxyz")
	if want := "ab||abcde|xyz"; err != nil || strings.Join(got, "|") != want {
		t.Errorf("Lines: %q, %v; want %q", got, err, want)
	}
	got, err = scan(Lines(5), "ab\nabcdef\nzz\n")
	if !errors.Is(err, ErrFrameTooLarge) || strings.Join(got, "|") != "ab" {
		t.Errorf("Lines over max: %q, %v; want [ab], ErrFrameTooLarge", got, err)
	}
	got, err = scan(Lines(5), "ab\nabcdefghij")
	if !errors.Is(err, ErrFrameTooLarge) || strings.Join(got, "|") != "ab" {
		t.Errorf("Lines over the buffer: %q, %v; want [ab], ErrFrameTooLarge", got, err)
	}
	var msg []byte
	f := LengthPrefixed(2, binary.LittleEndian, 4)
	for _, s := range []string{"one", "", "four"} {
		msg, _ = f.Append(msg, []byte(s))
	}
	got, err = scan(f, string(msg)+"\x03")
	if !errors.Is(err, ErrTruncatedFrame) || strings.Join(got, "|") != "one||four" {
		t.Errorf("LengthPrefixed: %q, %v; want [one  four], ErrTruncatedFrame", got, err)
	}
}

func TestAppend(t *testing.T) {
	tests := []struct {
		name  string
		f     Framer
		frame string
		want  string
		err   error
	}{
		{name: "line", f: Lines(5), frame: "abc", want: "abc\n"},
		{name: "empty line", f: Lines(5), frame: "", want: "\n"},
		{name: "line at max", f: Lines(5), frame: "abcde", want: "abcde\n"},
		{name: "line over max", f: Lines(5), frame: "abcdef", err: ErrFrameTooLarge},
		{name: "line with newline", f: Lines(5), frame: "a\nb", err: ErrBadFrame},
		{name: "line ending in cr", f: Lines(5), frame: "ab\r", err: ErrBadFrame},
		{name: "line with inner cr", f: Lines(5), frame: "a\rb", want: "a\rb\n"},
		{name: "delimited", f: Delimited([]byte("--"), 0), frame: "a-b", want: "a-b--"},
		{name: "delimited holding sep", f: Delimited([]byte("--"), 0), frame: "a--b", err: ErrBadFrame},
		{name: "delimited at the seam", f: Delimited([]byte("--"), 0), frame: "ab-", err: ErrBadFrame},
		{name: "delimited overlapping", f: Delimited([]byte("aa"), 0), frame: "a", err: ErrBadFrame},
		{name: "delimited long sep", f: Delimited(bytes.Repeat([]byte("ab"), 40), 0), frame: "abab", err: ErrBadFrame},
		{name: "delimited long sep ok", f: Delimited(bytes.Repeat([]byte("ab"), 40), 0), frame: "xyz", want: "xyz" + strings.Repeat("ab", 40)},
		{name: "prefixed", f: LengthPrefixed(2, binary.BigEndian, 0), frame: "hi", want: "\x00\x02hi"},
		{name: "prefixed little", f: LengthPrefixed(4, binary.LittleEndian, 0), frame: "hi", want: "\x02\x00\x00\x00hi"},
		{name: "prefixed empty", f: LengthPrefixed(1, binary.BigEndian, 0), frame: "", want: "\x00"},
		{name: "prefixed over max", f: LengthPrefixed(8, binary.BigEndian, 3), frame: "abcd", err: ErrFrameTooLarge},
		{name: "prefixed over width", f: LengthPrefixed(1, binary.BigEndian, 1000), frame: strings.Repeat("x", 256), err: ErrFrameTooLarge},
		{name: "split has no encoder", f: Split(bufio.ScanWords, 0), frame: "x", err: errors.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("<")
			got, err := tt.f.Append(dst, []byte(tt.frame))
			if tt.err != nil {
				if !errors.Is(err, tt.err) || string(got) != "<" {
					t.Fatalf("Append = %q, %v; want %q, %v", got, err, "<", tt.err)
				}
				return
			}
			if err != nil || string(got) != "<"+tt.want {
				t.Fatalf("Append = %q, %v; want %q", got, err, "<"+tt.want)
			}
			// It reads back as the frame.
			adv, tok, err := tt.f.SplitFunc()(got[1:], true)
			if err != nil || adv != len(got)-1 || string(tok) != tt.frame {
				t.Errorf("split of the encoding = %d, %q, %v; want %d, %q", adv, tok, err, len(got)-1, tt.frame)
			}
		})
	}
}

// writeRecorder records each Write call.
type writeRecorder struct {
	writes []string
	n      int // bytes each Write reports; -1 for all
	err    error
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	if w.n >= 0 {
		return min(w.n, len(p)), w.err
	}
	return len(p), w.err
}

func TestWriteFrameOneWrite(t *testing.T) {
	w := &writeRecorder{n: -1}
	f := LengthPrefixed(4, binary.BigEndian, 1<<20)
	big := strings.Repeat("z", 70000) // over the pooled buffer's size
	for _, s := range []string{"abc", "", big, "d"} {
		if err := f.WriteFrame(w, []byte(s)); err != nil {
			t.Fatalf("WriteFrame(%d bytes): %v", len(s), err)
		}
	}
	want := []string{"\x00\x00\x00\x03abc", "\x00\x00\x00\x00", "\x00\x01\x11\x70" + big, "\x00\x00\x00\x01d"}
	if len(w.writes) != len(want) {
		t.Fatalf("%d Write calls; want %d", len(w.writes), len(want))
	}
	for i := range want {
		if w.writes[i] != want[i] {
			t.Errorf("Write %d got %d bytes %.8q; want %d bytes %.8q", i, len(w.writes[i]), w.writes[i], len(want[i]), want[i])
		}
	}
}

func TestWriteFrameErrors(t *testing.T) {
	f := Lines(0)
	if err := f.WriteFrame(&writeRecorder{n: 2}, []byte("abc")); err != io.ErrShortWrite {
		t.Errorf("short write: %v; want io.ErrShortWrite", err)
	}
	if err := f.WriteFrame(&writeRecorder{n: 0, err: errBoom}, []byte("abc")); err != errBoom {
		t.Errorf("failing writer: %v; want %v", err, errBoom)
	}
	w := &writeRecorder{n: -1}
	if err := f.WriteFrame(w, []byte("a\nb")); !errors.Is(err, ErrBadFrame) || len(w.writes) != 0 {
		t.Errorf("bad frame: %v and %d writes; want ErrBadFrame and none", err, len(w.writes))
	}
}

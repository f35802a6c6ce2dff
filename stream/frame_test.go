package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/reactivex/rxgo/v2"
)

// chanOf returns a closed channel holding evs.
func chanOf(evs ...Event) <-chan Event {
	ch := make(chan Event, len(evs))
	for _, e := range evs {
		ch <- e
	}
	close(ch)
	return ch
}

// show formats a framed stream with each frame's bytes: `"ab" EOF Lost`.
// Lost's error is checked apart.
func show(evs []Event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		switch e.Kind {
		case Data:
			s[i] = fmt.Sprintf("%q", e.Data)
		case Lost:
			s[i] = "Lost"
		default:
			s[i] = e.String()
		}
	}
	return strings.Join(s, " ")
}

// lostErr returns the error of the last event, which must be a Lost.
func lostErr(t *testing.T, evs []Event) error {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1].Kind != Lost {
		t.Fatalf("stream %q does not end with Lost", show(evs))
	}
	return evs[len(evs)-1].Err
}

// fakeSource is a transport's event channel: Made, then Data cycling
// through payloads until abort, then Lost(lostErr), then closed.
type fakeSource struct {
	ch       chan Event
	payloads []string
	lostErr  error
	stop     chan struct{}
	stopOnce sync.Once
	aborts   atomic.Int32
	sent     atomic.Int64 // Data events taken by the consumer's side
	done     chan struct{}
}

func newFakeSource(capacity int, lostErr error, payloads ...string) *fakeSource {
	s := &fakeSource{
		ch:       make(chan Event, capacity),
		payloads: payloads,
		lostErr:  lostErr,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go s.run()
	return s
}

func (s *fakeSource) abort() {
	s.aborts.Add(1)
	s.stopOnce.Do(func() { close(s.stop) })
}

func (s *fakeSource) run() {
	defer close(s.done)
	defer close(s.ch)
	select {
	case s.ch <- made():
	case <-s.stop:
	}
	for i := 0; len(s.payloads) > 0; i++ {
		select {
		case s.ch <- data(s.payloads[i%len(s.payloads)]):
			s.sent.Add(1)
			continue
		case <-s.stop:
		}
		break
	}
	if len(s.payloads) == 0 {
		<-s.stop
	}
	s.ch <- lost(s.lostErr)
}

func TestFramesOrderAndEnd(t *testing.T) {
	trunc := []error{ErrTruncatedFrame}
	addr := &net.UDPAddr{Port: 7}
	tests := []struct {
		name    string
		f       Framer
		in      []Event
		want    string
		wantErr []error // errors.Is of Lost's error; nil: a nil error
	}{
		{name: "lines across events", f: Lines(0),
			in:   []Event{made(), data("he"), data("llo\nwor"), data("ld\r"), data("\n\nbye\n"), {Kind: EOF}, lost(nil)},
			want: `Made "hello" "world" "" "bye" EOF Lost`},
		{name: "passthrough in order", f: Lines(0),
			in:   []Event{made(), data("a\nb"), pause, data("c\n"), resume, {Kind: EOF}, lost(nil)},
			want: `Made "a" PauseWriting "bc" ResumeWriting EOF Lost`},
		{name: "lines final line at EOF", f: Lines(0),
			in:   []Event{made(), data("a\nb"), {Kind: EOF}, pause, lost(nil)},
			want: `Made "a" "b" EOF PauseWriting Lost`},
		{name: "lines final line at Lost", f: Lines(0),
			in:   []Event{made(), data("a\nb\r"), lost(errBoom)},
			want: `Made "a" "b" Lost`, wantErr: []error{errBoom}},
		{name: "lines final line at close", f: Lines(0),
			in:   []Event{data("a\nb")},
			want: `"a" "b"`},
		{name: "delimited truncated at EOF", f: Delimited([]byte(";"), 0),
			in:   []Event{made(), data("a;b"), {Kind: EOF}, resume, lost(nil)},
			want: `Made "a" EOF ResumeWriting Lost`, wantErr: trunc},
		{name: "delimited truncated at a failed Lost", f: Delimited([]byte(";"), 0),
			in:   []Event{made(), data("a;b"), lost(errBoom)},
			want: `Made "a" Lost`, wantErr: []error{errBoom, ErrTruncatedFrame}},
		{name: "delimited truncated at close", f: Delimited([]byte(";"), 0),
			in:   []Event{data("a;;b")},
			want: `"a" "" Lost`, wantErr: trunc},
		{name: "delimited complete", f: Delimited([]byte("\r\n\r\n"), 0),
			in:   []Event{data("a\r\n"), data("\r"), data("\nb\r\n\r\n"), {Kind: EOF}, lost(nil)},
			want: `"a" "b" EOF Lost`},
		{name: "prefixed truncated", f: LengthPrefixed(2, binary.BigEndian, 0),
			in:   []Event{data("\x00\x01a\x00"), data("\x02h"), {Kind: EOF}, lost(nil)},
			want: `"a" EOF Lost`, wantErr: trunc},
		{name: "prefixed empty frames", f: LengthPrefixed(1, binary.BigEndian, 0),
			in:   []Event{data("\x00\x00\x01"), data("x"), lost(nil)},
			want: `"" "" "x" Lost`},
		{name: "upstream error kept", f: Lines(0),
			in:   []Event{made(), data("a\n"), lost(errBoom)},
			want: `Made "a" Lost`, wantErr: []error{errBoom}},
		{name: "other events untouched", f: Lines(0),
			in: []Event{made(), {Kind: Datagram, Data: []byte("d\n"), Addr: addr}, {Kind: DatagramError, Err: errBoom},
				{Kind: PipeData, FD: 1, Data: []byte("p\n")}, {Kind: PipeLost, FD: 2}, {Kind: Exited}, lost(nil)},
			want: `Made Datagram(2) DatagramError(boom) PipeData(fd 1, 2) PipeLost(fd 2, <nil>) Exited Lost`},
		{name: "final token", f: Split(finalAtBang, 0),
			in:   []Event{made(), data("a\nb!c\n"), data("d\n"), lost(nil)},
			want: `Made "a" "b" Lost`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(tt.f.Frames(chanOf(tt.in...), nil))
			if s := show(got); s != tt.want {
				t.Fatalf("framed %s; want %s", s, tt.want)
			}
			if len(got) == 0 || got[len(got)-1].Kind != Lost {
				if tt.wantErr != nil {
					t.Fatal("no Lost to carry the error")
				}
				return
			}
			err := lostErr(t, got)
			if tt.wantErr == nil && err != nil {
				t.Errorf("Lost's error %v; want nil", err)
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("Lost's error %v does not match %v", err, want)
				}
			}
			for _, e := range got {
				if e.Kind == Datagram && e.Addr != addr || e.Kind == PipeData && e.FD != 1 {
					t.Errorf("event %v changed", e)
				}
			}
		})
	}
}

// finalAtBang is ScanLines, but a '!' ends the last frame.
func finalAtBang(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "!\n"); i >= 0 && data[i] == '!' {
		return i + 1, data[:i], bufio.ErrFinalToken
	}
	return bufio.ScanLines(data, atEOF)
}

func TestFramesOwnedByReceiver(t *testing.T) {
	got := collect(Lines(0).Frames(chanOf(data("ab\ncd\nef"), data("gh\nij\n")), nil))
	if show(got) != `"ab" "cd" "efgh" "ij"` {
		t.Fatalf("framed %s", show(got))
	}
	for i := range got {
		_ = append(got[i].Data, "XXXXXXXX"...) // must not reach the next frame
	}
	if show(got) != `"ab" "cd" "efgh" "ij"` {
		t.Errorf("appending to a frame changed another: %s", show(got))
	}
}

func TestFramesPrefixOverMaxAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(1, errBoom) // no data: waits for abort
		f := LengthPrefixed(4, binary.BigEndian, 100)
		in := make(chan Event)
		go func() {
			defer close(in)
			for e := range src.ch {
				in <- e
				if e.Kind == Made {
					in <- data("\x00\x00\x01\x00") // 256 bytes announced
				}
			}
		}()
		got := collect(f.Frames(in, src.abort))
		if show(got) != "Made Lost" {
			t.Fatalf("framed %s", show(got))
		}
		err := lostErr(t, got)
		if !errors.Is(err, ErrFrameTooLarge) || !errors.Is(err, errBoom) {
			t.Errorf("Lost's error %v; want ErrFrameTooLarge joined with the source's %v", err, errBoom)
		}
		if n := src.aborts.Load(); n != 1 {
			t.Errorf("abort called %d times; want 1", n)
		}
	})
}

func TestFramesSplitErrors(t *testing.T) {
	empty := func([]byte, bool) (int, []byte, error) { return 0, []byte{}, nil }
	failing := func([]byte, bool) (int, []byte, error) { return 0, nil, errBoom }
	tests := []struct {
		name string
		f    Framer
		want error
	}{
		{name: "no progress", f: Split(empty, 0), want: errNoProgress},
		{name: "split error", f: Split(failing, 0), want: errBoom},
		{name: "bad framer", f: Delimited(nil, 0)},
		{name: "zero framer", f: Framer{}, want: errZeroFramer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := newFakeSource(2, nil, "x")
				got := collect(tt.f.Frames(src.ch, src.abort))
				err := lostErr(t, got)
				want := tt.want
				if want == nil {
					want = tt.f.Err()
				}
				if !errors.Is(err, want) {
					t.Errorf("Lost's error %v; want %v", err, want)
				}
				if n := src.aborts.Load(); n != 1 {
					t.Errorf("abort called %d times; want 1", n)
				}
			})
		})
	}
}

// TestFramesStopEarly: a consumer that stops reading ends the framing by
// aborting the source and reading on to the close, or by cancelling
// FramesContext's context without reading any more.
func TestFramesStopEarly(t *testing.T) {
	t.Run("abort and drain", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			src := newFakeSource(4, nil, "a\nb", "\nc\n")
			out := Lines(0).Frames(src.ch, src.abort)
			for range 5 {
				<-out
			}
			src.abort()
			last := collect(out)
			if err := lostErr(t, last); err != nil {
				t.Errorf("Lost's error %v", err)
			}
			<-src.done
		})
	})
	t.Run("cancel without reading", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			src := newFakeSource(4, nil, "a\nb", "\nc\n")
			ctx, cancel := context.WithCancel(context.Background())
			out := Lines(0).FramesContext(ctx, src.ch, src.abort)
			for range 5 {
				<-out
			}
			synctest.Wait() // out is full, the framer blocked
			cancel()
			<-src.done
			synctest.Wait()
			n := 0
			for e := range out {
				if e.Kind != Data {
					t.Errorf("event %v after the cancel", e)
				}
				n++
			}
			if n > cap(out) {
				t.Errorf("%d frames after the cancel; want at most the %d buffered", n, cap(out))
			}
			if a := src.aborts.Load(); a != 1 {
				t.Errorf("abort called %d times; want 1", a)
			}
		})
	})
	t.Run("cancel while idle", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			src := newFakeSource(4, nil) // Made, then nothing until abort
			ctx, cancel := context.WithCancel(context.Background())
			out := Lines(0).FramesContext(ctx, src.ch, src.abort)
			<-out // Made
			cancel()
			if got := collect(out); len(got) != 0 {
				t.Errorf("events after the cancel: %s", show(got))
			}
			<-src.done
		})
	})
}

// TestRD2_FramesBackpressure: an unread framed channel stops the reads
// from the source; what the framer took stays bounded.
func TestRD2_FramesBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(4, nil, "a\nb\nc\n")
		out := Lines(0).Frames(src.ch, src.abort)
		synctest.Wait()
		bound := int64(cap(src.ch) + cap(out) + 2)
		if n := src.sent.Load(); n > bound {
			t.Errorf("%d events sent with nobody reading; want at most %d", n, bound)
		}
		for range 300 {
			<-out
		}
		synctest.Wait()
		if n := src.sent.Load(); n > 100+bound {
			t.Errorf("%d events sent for 300 frames read; want at most %d", n, 100+bound)
		}
		src.abort()
		collect(out)
		<-src.done
	})
}

// eventsObservable emits evs, then completes: a source Observable.
func eventsObservable(evs ...Event) rxgo.Observable {
	return rxgo.Defer([]rxgo.Producer{func(ctx context.Context, next chan<- rxgo.Item) {
		for _, e := range evs {
			if !rxgo.Of(e).SendContext(ctx, next) {
				return
			}
		}
	}})
}

// secondSubscriber is what a transport's Observable gives a subscriber
// after the first: one ErrAlreadySubscribed error item.
func secondSubscriber() rxgo.Observable {
	return rxgo.Defer([]rxgo.Producer{func(ctx context.Context, next chan<- rxgo.Item) {
		rxgo.Error(ErrAlreadySubscribed).SendContext(ctx, next)
	}})
}

func TestFramerObservablePassesOtherItems(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	its := items(Lines(0).Observable(secondSubscriber(), nil).Observe(rxgo.WithContext(ctx)))
	if len(its) != 1 || !errors.Is(its[0].E, ErrAlreadySubscribed) {
		t.Errorf("items %v; want the upstream ErrAlreadySubscribed error item", its)
	}

	src := rxgo.Defer([]rxgo.Producer{func(ctx context.Context, next chan<- rxgo.Item) {
		rxgo.Of("not an event").SendContext(ctx, next)
		rxgo.Of(data("x\n")).SendContext(ctx, next)
	}})
	its = items(Lines(0).Observable(src, nil).Observe(rxgo.WithContext(ctx)))
	if len(its) != 2 || its[0].V != "not an event" || show([]Event{its[1].V.(Event)}) != `"x"` {
		t.Errorf("items %v; want the string, then the frame", its)
	}
}

func TestFramerObservableBadFramer(t *testing.T) {
	var subscribed, aborts atomic.Int32
	src := rxgo.Defer([]rxgo.Producer{func(context.Context, chan<- rxgo.Item) { subscribed.Add(1) }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := LengthPrefixed(3, binary.BigEndian, 0)
	got := itemEvents(t, items(f.Observable(src, func() { aborts.Add(1) }).Observe(rxgo.WithContext(ctx))))
	if show(got) != "Lost" || got[0].Err != f.Err() {
		t.Errorf("items %s (%v); want one Lost carrying %v", show(got), got, f.Err())
	}
	if subscribed.Load() != 0 || aborts.Load() != 1 {
		t.Errorf("src subscribed %d times, abort called %d times; want 0 and 1", subscribed.Load(), aborts.Load())
	}
}

func TestFramerOperator(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := eventsObservable(made(), data("x;y"), data(";"), lost(nil))
	obs := Delimited([]byte(";"), 0).Operator(nil)(src).
		Filter(func(v any) bool { return v.(Event).Kind == Data }).
		Map(func(_ context.Context, v any) (any, error) { return string(v.(Event).Data), nil })
	var got []string
	for it := range obs.Observe(rxgo.WithContext(ctx)) {
		got = append(got, it.V.(string))
	}
	if strings.Join(got, ",") != "x,y" {
		t.Errorf("frames %q; want [x y]", got)
	}
}

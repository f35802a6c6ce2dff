package stream

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/reactivex/rxgo/v2"
)

// payloads receives from out until it is closed.
func payloads(out <-chan []byte) string {
	var s []string
	for p := range out {
		s = append(s, string(p))
	}
	return strings.Join(s, "|")
}

func TestPayloads(t *testing.T) {
	tests := []struct {
		name string
		in   []Event
		want string
		err  error
	}{
		{name: "clean",
			in:   []Event{made(), data("a"), pause, {Kind: Datagram, Data: []byte("d")}, {Kind: PipeData, FD: 2, Data: []byte("p")}, {Kind: EOF}, lost(nil)},
			want: "a|d|p"},
		{name: "lost with an error", in: []Event{made(), data("a"), {Kind: DatagramError, Err: errAlt}, lost(errBoom)}, want: "a", err: errBoom},
		{name: "no lost", in: []Event{data("a"), data("b")}, want: "a|b"},
		{name: "empty", in: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errf := Payloads(chanOf(tt.in...))
			if got := payloads(out); got != tt.want {
				t.Errorf("payloads %q; want %q", got, tt.want)
			}
			if err := errf(); err != tt.err {
				t.Errorf("error %v; want %v", err, tt.err)
			}
		})
	}
}

var errAlt = errors.New("alt")

func TestPayloadsErrBeforeEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := make(chan Event)
		out, errf := Payloads(in)
		in <- data("a")
		in <- lost(errBoom)
		synctest.Wait()
		if err := errf(); err != nil {
			t.Errorf("error %v before the channel closed; want nil", err)
		}
		close(in)
		if got := payloads(out); got != "a" {
			t.Errorf("payloads %q", got)
		}
		if err := errf(); err != errBoom {
			t.Errorf("error %v; want %v", err, errBoom)
		}
	})
}

func TestPayloadsOfFrames(t *testing.T) {
	out, errf := Payloads(Delimited([]byte(";"), 0).Frames(chanOf(made(), data("a;b"), data(";c"), lost(nil)), nil))
	if got := payloads(out); got != "a|b" {
		t.Errorf("payloads %q; want a|b", got)
	}
	if err := errf(); !errors.Is(err, ErrTruncatedFrame) {
		t.Errorf("error %v; want ErrTruncatedFrame", err)
	}
}

// TestRD2_PayloadsBackpressure: unread payloads stop the source; after an
// abort, reading to the close ends every goroutine.
func TestRD2_PayloadsBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(4, nil, "x")
		out, errf := Payloads(src.ch)
		synctest.Wait()
		if n, bound := src.sent.Load(), int64(4+cap(out)+2); n > bound {
			t.Errorf("%d events sent with nobody reading; want at most %d", n, bound)
		}
		src.abort()
		payloads(out)
		<-src.done
		if err := errf(); err != nil {
			t.Errorf("error %v after an abort; want nil", err)
		}
	})
}

// observePayloads subscribes and returns the []byte items joined, and the
// error items.
func observePayloads(t *testing.T, o rxgo.Observable) (string, []error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var s []string
	var errs []error
	for it := range o.Observe(rxgo.WithContext(ctx)) {
		if it.Error() {
			errs = append(errs, it.E)
			continue
		}
		b, ok := it.V.([]byte)
		if !ok {
			t.Fatalf("item %v is a %T, not []byte", it.V, it.V)
		}
		s = append(s, string(b))
	}
	return strings.Join(s, "|"), errs
}

func TestPayloadsObservable(t *testing.T) {
	got, errs := observePayloads(t, PayloadsObservable(eventsObservable(made(), data("a"), pause, data("b"), Event{Kind: EOF}, lost(nil))))
	if got != "a|b" || len(errs) != 0 {
		t.Errorf("clean: %q, errors %v; want a|b and none", got, errs)
	}
	got, errs = observePayloads(t, PayloadsObservable(eventsObservable(made(), data("a"), lost(errBoom), data("after"))))
	if got != "a" || len(errs) != 1 || errs[0] != errBoom {
		t.Errorf("lost with an error: %q, errors %v; want a and [%v]", got, errs, errBoom)
	}
	got, errs = observePayloads(t, PayloadsObservable(Lines(0).Observable(eventsObservable(made(), data("x\ny"), lost(nil)), nil)))
	if got != "x|y" || len(errs) != 0 {
		t.Errorf("framed: %q, errors %v; want x|y and none", got, errs)
	}
	got, errs = observePayloads(t, PayloadsObservable(secondSubscriber()))
	if got != "" || len(errs) != 1 || !errors.Is(errs[0], ErrAlreadySubscribed) {
		t.Errorf("upstream error item: %q, errors %v; want ErrAlreadySubscribed", got, errs)
	}
}

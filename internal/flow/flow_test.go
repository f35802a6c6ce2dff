package flow

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

func TestWR3_Resolve(t *testing.T) {
	tests := []struct {
		name      string
		high, low int
		want      Limits
		wantErr   bool
	}{
		{name: "defaults", high: Unset, low: Unset, want: Limits{High: 64 << 10, Low: 16 << 10}},
		{name: "both given", high: 100, low: 50, want: Limits{High: 100, Low: 50}},
		{name: "both equal", high: 100, low: 100, want: Limits{High: 100, Low: 100}},
		{name: "both zero", high: 0, low: 0, want: Limits{}},
		{name: "high only", high: 1000, low: Unset, want: Limits{High: 1000, Low: 250}},
		{name: "high only floors", high: 1001, low: Unset, want: Limits{High: 1001, Low: 250}},
		{name: "high only 3 gives low 0", high: 3, low: Unset, want: Limits{High: 3, Low: 0}},
		{name: "high only 0", high: 0, low: Unset, want: Limits{}},
		{name: "high only huge", high: math.MaxInt, low: Unset, want: Limits{High: math.MaxInt, Low: math.MaxInt / 4}},
		{name: "low only", high: Unset, low: 1000, want: Limits{High: 4000, Low: 1000}},
		{name: "low only 0", high: Unset, low: 0, want: Limits{}},
		{name: "high 0 forces low 0", high: 0, low: 10, want: Limits{}},
		{name: "low over high", high: 10, low: 20, wantErr: true},
		{name: "low just over high", high: 10, low: 11, wantErr: true},
		{name: "negative high only", high: -1, low: Unset, wantErr: true},
		{name: "negative high only -4", high: -4, low: Unset, wantErr: true},
		{name: "negative low only", high: Unset, low: -1, wantErr: true},
		{name: "negative high", high: -1, low: 0, wantErr: true},
		{name: "negative low", high: 10, low: -1, wantErr: true},
		{name: "both negative", high: -1, low: -1, wantErr: true},
		{name: "negative low with high 0", high: 0, low: -1, wantErr: true},
		{name: "low only overflows", high: Unset, low: math.MaxInt/4 + 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.high, tt.low)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Resolve(%d, %d) = %+v, nil; want an error", tt.high, tt.low, got)
				}
				if got != (Limits{}) {
					t.Errorf("Resolve(%d, %d) returned limits %+v with its error; want zero", tt.high, tt.low, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%d, %d): %v", tt.high, tt.low, err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%d, %d) = %+v; want %+v", tt.high, tt.low, got, tt.want)
			}
		})
	}
}

func TestWR3_Default(t *testing.T) {
	if got, want := Default(), (Limits{High: 65536, Low: 16384}); got != want {
		t.Errorf("Default() = %+v; want %+v", got, want)
	}
	if DefaultHigh != 65536 || DefaultLow != 16384 {
		t.Errorf("DefaultHigh, DefaultLow = %d, %d; want 65536, 16384", DefaultHigh, DefaultLow)
	}
}

func TestNewIsEmptyAndUnpaused(t *testing.T) {
	l := Limits{High: 10, Low: 5}
	s := New(l)
	if s.Size() != 0 || s.Paused() || s.Limits() != l {
		t.Errorf("New(%+v): size %d, paused %v, limits %+v", l, s.Size(), s.Paused(), s.Limits())
	}
}

// step is one operation on a State and the transition it must produce.
type step struct {
	op   string // "add", "sub" or "limits"
	n    int
	l    Limits
	want Transition
}

func runSteps(t *testing.T, s *State, steps []step) {
	t.Helper()
	for i, st := range steps {
		var got Transition
		switch st.op {
		case "add":
			got = s.Add(st.n)
		case "sub":
			got = s.Sub(st.n)
		case "limits":
			got = s.SetLimits(st.l)
		}
		if got != st.want {
			t.Fatalf("step %d (%s %d %+v): transition %v, size %d; want %v", i, st.op, st.n, st.l, got, s.Size(), st.want)
		}
	}
}

func TestWR4_PauseStrictlyOverHigh(t *testing.T) {
	s := New(Limits{High: 10, Low: 5})
	runSteps(t, &s, []step{
		{op: "add", n: 10, want: Unchanged}, // at high: no pause
		{op: "add", n: 1, want: Paused},     // strictly over
		{op: "add", n: 100, want: Unchanged},
	})
	if !s.Paused() || s.Size() != 111 {
		t.Errorf("paused %v size %d; want true 111", s.Paused(), s.Size())
	}
}

func TestWR4_PauseOnFirstByteWithHighZero(t *testing.T) {
	l, err := Resolve(0, Unset)
	if err != nil {
		t.Fatal(err)
	}
	s := New(l)
	runSteps(t, &s, []step{
		{op: "add", n: 1, want: Paused},
		{op: "add", n: 1, want: Unchanged},
		{op: "sub", n: 1, want: Unchanged},
		{op: "sub", n: 1, want: Resumed}, // only when empty
	})
}

func TestWR4_ResumeAtOrBelowLow(t *testing.T) {
	s := New(Limits{High: 10, Low: 5})
	runSteps(t, &s, []step{
		{op: "add", n: 20, want: Paused},
		{op: "sub", n: 14, want: Unchanged}, // 6 > low
		{op: "sub", n: 1, want: Resumed},    // 5 == low
		{op: "sub", n: 5, want: Unchanged},  // already resumed
		{op: "add", n: 10, want: Unchanged},
		{op: "add", n: 1, want: Paused},
		{op: "sub", n: 11, want: Resumed}, // straight to 0
	})
	if s.Paused() || s.Size() != 0 {
		t.Errorf("paused %v size %d; want false 0", s.Paused(), s.Size())
	}
}

func TestWR4_NoTransitionBetweenMarks(t *testing.T) {
	s := New(Limits{High: 10, Low: 5})
	runSteps(t, &s, []step{
		{op: "add", n: 8, want: Unchanged},
		{op: "sub", n: 2, want: Unchanged},
		{op: "add", n: 4, want: Unchanged},
		{op: "add", n: 1, want: Paused},
		{op: "sub", n: 3, want: Unchanged}, // 8: between the marks, stays paused
		{op: "add", n: 2, want: Unchanged},
	})
	if !s.Paused() {
		t.Error("not paused between the marks after a pause")
	}
}

func TestWR3_SetLimitsAppliesAtOnce(t *testing.T) {
	t.Run("pauses", func(t *testing.T) {
		s := New(Limits{High: 1000, Low: 250})
		runSteps(t, &s, []step{
			{op: "add", n: 100, want: Unchanged},
			{op: "limits", l: Limits{High: 50, Low: 12}, want: Paused},
			{op: "limits", l: Limits{High: 60, Low: 15}, want: Unchanged},
		})
	})
	t.Run("resumes", func(t *testing.T) {
		s := New(Limits{High: 50, Low: 12})
		runSteps(t, &s, []step{
			{op: "add", n: 100, want: Paused},
			{op: "limits", l: Limits{High: 1000, Low: 99}, want: Unchanged}, // 100 > low
			{op: "limits", l: Limits{High: 1000, Low: 500}, want: Resumed},
		})
	})
	t.Run("limits stored", func(t *testing.T) {
		s := New(Default())
		l := Limits{High: 7, Low: 3}
		s.SetLimits(l)
		if s.Limits() != l {
			t.Errorf("Limits() = %+v; want %+v", s.Limits(), l)
		}
	})
}

func TestReset(t *testing.T) {
	s := New(Limits{High: 10, Low: 5})
	if tr := s.Add(50); tr != Paused {
		t.Fatalf("Add(50) = %v; want Paused", tr)
	}
	s.Reset()
	if s.Size() != 0 || s.Paused() {
		t.Fatalf("after Reset: size %d paused %v; want 0 false", s.Size(), s.Paused())
	}
	if s.Limits() != (Limits{High: 10, Low: 5}) {
		t.Errorf("Reset changed the limits to %+v", s.Limits())
	}
	// A fresh cycle starts with a pause again.
	if tr := s.Add(11); tr != Paused {
		t.Errorf("Add(11) after Reset = %v; want Paused", tr)
	}
}

func TestSubPastZeroClampsToZero(t *testing.T) {
	s := New(Limits{High: 1, Low: 0})
	if tr := s.Add(3); tr != Paused {
		t.Fatalf("Add(3) = %v; want Paused", tr)
	}
	if tr := s.Sub(4); tr != Resumed {
		t.Errorf("Sub(4) with 3 buffered = %v; want Resumed", tr)
	}
	if s.Size() != 0 {
		t.Errorf("Size() = %d after Sub past zero; want 0", s.Size())
	}
}

// checker follows a State through random operations and checks WR4.
type checker struct {
	t       *testing.T
	s       State
	paused  bool // the state the transitions so far imply
	pauses  int
	resumes int
}

func (c *checker) apply(what string, tr Transition) {
	t := c.t
	t.Helper()
	size, l := c.s.Size(), c.s.Limits()
	switch tr {
	case Paused:
		if c.paused {
			t.Fatalf("%s: Paused twice in a row (size %d, %+v)", what, size, l)
		}
		if size <= l.High {
			t.Fatalf("%s: Paused with size %d not over high %d", what, size, l.High)
		}
		c.paused = true
		c.pauses++
	case Resumed:
		if !c.paused {
			t.Fatalf("%s: Resumed without a pause before it (size %d, %+v)", what, size, l)
		}
		if size > l.Low {
			t.Fatalf("%s: Resumed with size %d over low %d", what, size, l.Low)
		}
		c.paused = false
		c.resumes++
	case Unchanged:
	default:
		t.Fatalf("%s: unknown transition %d", what, tr)
	}
	if c.s.Paused() != c.paused {
		t.Fatalf("%s: Paused() = %v; the transitions say %v", what, c.s.Paused(), c.paused)
	}
	// The rule, after every step: never unpaused over high, never paused
	// at or below low.
	if !c.paused && size > l.High {
		t.Fatalf("%s: not paused with size %d over high %d", what, size, l.High)
	}
	if c.paused && size <= l.Low {
		t.Fatalf("%s: paused with size %d at or below low %d", what, size, l.Low)
	}
}

// run decodes data as operations: each takes 3 bytes, an opcode and a
// 16-bit amount.
func (c *checker) run(data []byte) {
	for len(data) >= 3 {
		op, n := data[0]%8, int(binary.LittleEndian.Uint16(data[1:3]))
		data = data[3:]
		switch {
		case op < 3:
			c.apply("Add", c.s.Add(n))
		case op < 6:
			n = min(n, c.s.Size())
			c.apply("Sub", c.s.Sub(n))
		case op == 6:
			high := n % 2048
			low := Unset
			if n%3 != 0 {
				low = (n / 7) % (high + 1)
			}
			l, err := Resolve(high, low)
			if err != nil {
				c.t.Fatalf("Resolve(%d, %d): %v", high, low, err)
			}
			c.apply("SetLimits", c.s.SetLimits(l))
		default:
			c.s.Reset()
			c.paused = false
			c.apply("Reset", Unchanged)
		}
	}
}

func TestWR4_AlternationRandom(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 42))
		data := make([]byte, 3*500)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		c := &checker{t: t, s: New(Limits{High: 1000, Low: 250})}
		c.run(data)
		if c.resumes > c.pauses || c.pauses > c.resumes+1+countResets(data) {
			t.Fatalf("seed %d: %d pauses, %d resumes", seed, c.pauses, c.resumes)
		}
	}
}

func countResets(data []byte) int {
	n := 0
	for i := 0; i+3 <= len(data); i += 3 {
		if data[i]%8 == 7 {
			n++
		}
	}
	return n
}

func FuzzWR4_Alternation(f *testing.F) {
	f.Add([]byte{0, 0xff, 0xff, 3, 0xff, 0xff})
	f.Add([]byte{0, 10, 0, 6, 5, 0, 6, 0, 8, 3, 10, 0})
	f.Add([]byte{6, 0, 0, 0, 1, 0, 3, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &checker{t: t, s: New(Default())}
		c.run(data)
	})
}

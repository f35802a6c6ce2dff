// Package flow is the write flow-control arithmetic shared by every rxnet
// transport: buffer limits, their derivation and validation, and the pause
// and resume decisions. It is a pure value type: no locks, no I/O; the
// transport that owns a State serialises access to it.
//
// The rules (asyncio's, DESIGN.md WR3 and WR4):
//   - defaults: high 64 KiB, low 16 KiB;
//   - only high given: low = high/4; only low given: high = 4*low;
//     high 0 forces any low >= 0 to 0;
//   - low > high or a negative value is an error and changes nothing;
//   - pause when the size goes strictly over high; resume when it comes
//     back to low or below; pause and resume strictly alternate, starting
//     with a pause;
//   - new limits apply at once, in both directions.
package flow

import (
	"fmt"
	"math"
)

// Default limits, in bytes.
const (
	DefaultHigh = 64 << 10
	DefaultLow  = 16 << 10
)

// Unset stands for a limit the caller left out (asyncio's None).
const Unset = math.MinInt

// Limits are a high- and a low-water mark, in bytes.
type Limits struct {
	High, Low int
}

// Default returns the default limits.
func Default() Limits { return Limits{High: DefaultHigh, Low: DefaultLow} }

// Resolve derives the limits from what the caller gave (either may be
// Unset) and validates them.
func Resolve(high, low int) (Limits, error) {
	switch {
	case high == Unset && low == Unset:
		return Default(), nil
	case low == Unset:
		low = high / 4
	case high == Unset:
		if low > math.MaxInt/4 {
			return Limits{}, fmt.Errorf("low-water mark (%d) is too large", low)
		}
		high = 4 * low
	}
	if high == 0 && low > 0 {
		low = 0 // high 0 forces low 0
	}
	if low < 0 || high < low {
		return Limits{}, fmt.Errorf("high-water mark (%d) must be >= low-water mark (%d) must be >= 0", high, low)
	}
	return Limits{High: high, Low: low}, nil
}

// State is a write buffer's size, its limits and whether the writer is
// paused. The zero value is unusable; start from New.
type State struct {
	limits Limits
	size   int
	paused bool
}

// New returns an empty, unpaused state with the given limits.
func New(l Limits) State { return State{limits: l} }

// Size returns the number of buffered bytes.
func (s *State) Size() int { return s.size }

// Limits returns the current limits.
func (s *State) Limits() Limits { return s.limits }

// Paused reports whether the writer is paused.
func (s *State) Paused() bool { return s.paused }

// Transition is what a change did to the paused state.
type Transition int8

// The possible transitions.
const (
	Unchanged Transition = iota
	Paused               // the size went strictly over high
	Resumed              // the size came back to low or below
)

// Add accounts n more buffered bytes.
func (s *State) Add(n int) Transition {
	s.size += n
	return s.check()
}

// Sub accounts n bytes that left the buffer.
func (s *State) Sub(n int) Transition {
	s.size = max(s.size-n, 0)
	return s.check()
}

// Reset empties the buffer and unpauses the writer without a transition:
// an aborted transport says nothing more about flow control.
func (s *State) Reset() {
	s.size, s.paused = 0, false
}

// SetLimits applies new limits at once, in both directions.
func (s *State) SetLimits(l Limits) Transition {
	s.limits = l
	return s.check()
}

func (s *State) check() Transition {
	switch {
	case !s.paused && s.size > s.limits.High:
		s.paused = true
		return Paused
	case s.paused && s.size <= s.limits.Low:
		s.paused = false
		return Resumed
	}
	return Unchanged
}

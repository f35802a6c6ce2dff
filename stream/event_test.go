package stream

import (
	"errors"
	"net"
	"testing"
)

func TestKindString(t *testing.T) {
	tests := []struct {
		kind Kind
		want string
	}{
		{kind: Made, want: "Made"},
		{kind: Data, want: "Data"},
		{kind: EOF, want: "EOF"},
		{kind: Lost, want: "Lost"},
		{kind: PauseWriting, want: "PauseWriting"},
		{kind: ResumeWriting, want: "ResumeWriting"},
		{kind: Datagram, want: "Datagram"},
		{kind: DatagramError, want: "DatagramError"},
		{kind: PipeData, want: "PipeData"},
		{kind: PipeLost, want: "PipeLost"},
		{kind: Exited, want: "Exited"},
		{kind: 0, want: "Kind(0)"},
		{kind: Exited + 1, want: "Kind(12)"},
		{kind: 255, want: "Kind(255)"},
	}
	for _, tt := range tests {
		if got := tt.kind.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q; want %q", uint8(tt.kind), got, tt.want)
		}
	}
}

func TestKindsAreDistinctAndNonZero(t *testing.T) {
	// The zero Kind is no event: a zero Event must not pass for Made.
	seen := map[Kind]bool{0: true}
	for _, k := range []Kind{Made, Data, EOF, Lost, PauseWriting, ResumeWriting, Datagram, DatagramError, PipeData, PipeLost, Exited} {
		if seen[k] {
			t.Errorf("kind %v (%d) is zero or repeated", k, uint8(k))
		}
		seen[k] = true
	}
}

func TestEventString(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{name: "made", ev: Event{Kind: Made}, want: "Made"},
		{name: "data", ev: Event{Kind: Data, Data: []byte("hello")}, want: "Data(5)"},
		{name: "empty data", ev: Event{Kind: Data}, want: "Data(0)"},
		{name: "eof", ev: Event{Kind: EOF}, want: "EOF"},
		{name: "clean lost", ev: Event{Kind: Lost}, want: "Lost(<nil>)"},
		{name: "lost with error", ev: Event{Kind: Lost, Err: boom}, want: "Lost(boom)"},
		{name: "pause", ev: Event{Kind: PauseWriting}, want: "PauseWriting"},
		{name: "resume", ev: Event{Kind: ResumeWriting}, want: "ResumeWriting"},
		{name: "datagram", ev: Event{Kind: Datagram, Data: []byte("abc"), Addr: &net.UDPAddr{}}, want: "Datagram(3)"},
		{name: "datagram error", ev: Event{Kind: DatagramError, Err: boom}, want: "DatagramError(boom)"},
		{name: "pipe data", ev: Event{Kind: PipeData, FD: 1, Data: []byte("ab")}, want: "PipeData(fd 1, 2)"},
		{name: "pipe lost", ev: Event{Kind: PipeLost, FD: 2}, want: "PipeLost(fd 2, <nil>)"},
		{name: "exited", ev: Event{Kind: Exited}, want: "Exited"},
		{name: "unknown", ev: Event{Kind: 99}, want: "Kind(99)"},
		{name: "zero", ev: Event{}, want: "Kind(0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ev.String(); got != tt.want {
				t.Errorf("String() = %q; want %q", got, tt.want)
			}
		})
	}
}

package adapters_test

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// The ways an entry point can fail once it opened its transport.
const (
	nilProtocol   = "factory returns nil"
	factoryPanics = "factory panics"
	madePanics    = "ConnectionMade panics"
	claimed       = "events already claimed"
)

// failingFactory returns a factory that fails as mode says, or returns
// made (whose ConnectionMade panics) for the modes that get that far.
func failingFactory[P any](mode string, made P) func() P {
	return func() P {
		switch mode {
		case nilProtocol:
			var zero P // a nil pointer
			return zero
		case factoryPanics:
			panic(panicValue{"factory"})
		}
		return made
	}
}

type madePanicker struct{ adapters.BaseProtocol }

func (*madePanicker) ConnectionMade(transport.Transport) { panic(panicValue{"ConnectionMade"}) }

type dgMadePanicker struct{ adapters.BaseDatagramProtocol }

func (*dgMadePanicker) ConnectionMade(transport.DatagramTransport) {
	panic(panicValue{"ConnectionMade"})
}

type spMadePanicker struct {
	adapters.BaseSubprocessProtocol
}

func (*spMadePanicker) ConnectionMade(transport.SubprocessTransport) {
	panic(panicValue{"ConnectionMade"})
}

// TestER2_EntryPointsAbortOnFailure checks, for every entry point that
// opens something and adapts it, that a factory returning nil or
// panicking, a panicking ConnectionMade, and an Adapt refused because
// the events already have a consumer each return the error with zero
// values and abort the transport the entry point opened: it ends
// (Done) although nobody else ever closes it.
func TestER2_EntryPointsAbortOnFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	ln := rawListener(t)
	udpPeer, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udpPeer.Close()

	// Each entry point's call reports whether it returned zero values.
	entries := []struct {
		name string
		call func(t *testing.T, mode string) (zero bool, err error)
	}{
		{"Connect", func(t *testing.T, mode string) (bool, error) {
			tr, p, err := adapters.Connect(ctx, "tcp", ln.Addr().String(), failingFactory(mode, &madePanicker{}))
			return tr == nil && p == nil, err
		}},
		{"ConnectDatagram", func(t *testing.T, mode string) (bool, error) {
			tr, p, err := adapters.ConnectDatagram(ctx, "udp", udpPeer.LocalAddr().String(), failingFactory(mode, &dgMadePanicker{}))
			return tr == nil && p == nil, err
		}},
		{"ListenDatagram", func(t *testing.T, mode string) (bool, error) {
			tr, p, err := adapters.ListenDatagram(ctx, "udp", "127.0.0.1:0", failingFactory(mode, &dgMadePanicker{}))
			return tr == nil && p == nil, err
		}},
		{"RunProcess", func(t *testing.T, mode string) (bool, error) {
			tr, p, err := adapters.RunProcess(ctx, childCmd(t, "linger"), failingFactory(mode, &spMadePanicker{}))
			return tr == nil && p == nil, err
		}},
		{"RunShell", func(t *testing.T, mode string) (bool, error) {
			// read waits for stdin, which only the transport's end closes.
			tr, p, err := adapters.RunShell(ctx, "read line", failingFactory(mode, &spMadePanicker{}))
			return tr == nil && p == nil, err
		}},
		{"ConnectReadPipe", func(t *testing.T, mode string) (bool, error) {
			r, _ := osPipe(t) // w stays open: only an abort ends the transport
			tr, p, err := adapters.ConnectReadPipe(r, failingFactory(mode, &madePanicker{}))
			return tr == nil && p == nil, err
		}},
		{"ConnectWritePipe", func(t *testing.T, mode string) (bool, error) {
			_, w := osPipe(t) // r stays open: only an abort ends the transport
			tr, p, err := adapters.ConnectWritePipe(w, failingFactory(mode, &madePanicker{}))
			return tr == nil && p == nil, err
		}},
	}
	modes := []struct {
		name  string
		check func(err error) bool
	}{
		{nilProtocol, func(err error) bool { return errors.Is(err, adapters.ErrNilProtocol) }},
		{factoryPanics, func(err error) bool {
			var pe *adapters.PanicError
			return errors.As(err, &pe) && pe.Value == panicValue{"factory"}
		}},
		{madePanics, func(err error) bool {
			var pe *adapters.PanicError
			return errors.As(err, &pe) && pe.Value == panicValue{"ConnectionMade"}
		}},
		{claimed, func(err error) bool { return errors.Is(err, adapters.ErrNotAdaptable) }},
	}
	for _, e := range entries {
		for _, m := range modes {
			t.Run(e.name+"/"+m.name, func(t *testing.T) {
				var opened transport.BaseTransport
				var events <-chan struct{}
				restore := adapters.SetOpenedHook(func(bt transport.BaseTransport) {
					opened = bt
					if m.name == claimed {
						ch := bt.Events() // Adapt is refused: the events have a consumer
						drained := make(chan struct{})
						go func() {
							for range ch {
							}
							close(drained)
						}()
						events = drained
					}
				})
				zero, err := e.call(t, m.name)
				restore()
				if opened == nil && errors.Is(err, errors.ErrUnsupported) {
					t.Skipf("%s: %v", e.name, err)
				}
				if !m.check(err) {
					t.Fatalf("%s: err = %v", e.name, err)
				}
				if !zero {
					t.Errorf("%s returned a transport or a protocol with its error", e.name)
				}
				if opened == nil {
					t.Fatalf("%s opened no transport", e.name)
				}
				select {
				case <-opened.Done():
				case <-time.After(failAfter):
					t.Fatalf("%s's transport did not end: not aborted", e.name)
				}
				if !opened.IsClosing() {
					t.Errorf("%s's transport ended but IsClosing is false", e.name)
				}
				if events != nil {
					<-events // the channel closes after Lost
				}
			})
		}
	}
}

// osPipe returns both ends of a pipe; the test closes them both at its
// end (closing a file a transport took over and closed fails harmlessly).
func osPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

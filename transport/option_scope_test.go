//go:build linux

package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rxnet/rxnet/transport"
)

// ended is what every constructor's result can do: end and say so.
type ended interface {
	Abort()
	Done() <-chan struct{}
}

// scopeCtor prepares one constructor's call (its peer, its pipe) and
// returns it; the call returns what must be released once it succeeded.
type scopeCtor func(t *testing.T) func(ctx context.Context, opts []transport.Option) (release func(), err error)

// endOf releases a transport: Abort, then wait for its end.
func endOf(tr ended) func() { return func() { tr.Abort(); <-tr.Done() } }

// scopeCtors are the constructors, Dial and Listen also given WithTLS.
func scopeCtors(server, client *tls.Config) map[string]scopeCtor {
	dialTo := func(t *testing.T) string { return tlsListen(t, server).Addr().String() }
	stream := func(tc *tls.Config, dial func(context.Context, string, []transport.Option) (transport.Transport, error)) scopeCtor {
		return func(t *testing.T) func(context.Context, []transport.Option) (func(), error) {
			addr := dialTo(t)
			return func(ctx context.Context, opts []transport.Option) (func(), error) {
				if tc != nil {
					opts = append([]transport.Option{transport.WithTLS(tc)}, opts...)
				}
				tr, err := dial(ctx, addr, opts)
				if err != nil {
					return nil, err
				}
				return endOf(tr), nil
			}
		}
	}
	dial := func(ctx context.Context, addr string, opts []transport.Option) (transport.Transport, error) {
		return transport.Dial(ctx, "tcp", addr, opts...)
	}
	listen := func(listen func(context.Context, []transport.Option) (*transport.Server, error)) scopeCtor {
		return func(t *testing.T) func(context.Context, []transport.Option) (func(), error) {
			return func(ctx context.Context, opts []transport.Option) (func(), error) {
				srv, err := listen(ctx, opts)
				if err != nil {
					return nil, err
				}
				return func() { srv.Close() }, nil
			}
		}
	}
	exe := func(run func(context.Context, []transport.Option) (transport.SubprocessTransport, error)) scopeCtor {
		return func(t *testing.T) func(context.Context, []transport.Option) (func(), error) {
			return func(ctx context.Context, opts []transport.Option) (func(), error) {
				p, err := run(ctx, opts)
				if err != nil {
					return nil, err
				}
				return endOf(p), nil
			}
		}
	}
	pipe := func(write bool) scopeCtor {
		return func(t *testing.T) func(context.Context, []transport.Option) (func(), error) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatalf("Pipe: %v", err)
			}
			t.Cleanup(func() { r.Close(); w.Close() })
			return func(ctx context.Context, opts []transport.Option) (func(), error) {
				var tr ended
				if write {
					tr, err = transport.WritePipe(w, opts...)
				} else {
					tr, err = transport.ReadPipe(r, opts...)
				}
				if err != nil {
					return nil, err
				}
				return endOf(tr), nil
			}
		}
	}
	return map[string]scopeCtor{
		"Dial":         stream(nil, dial),
		"Dial+WithTLS": stream(client, dial),
		"DialTLS": stream(nil, func(ctx context.Context, addr string, opts []transport.Option) (transport.Transport, error) {
			return transport.DialTLS(ctx, "tcp", addr, client, opts...)
		}),
		"Listen": listen(func(ctx context.Context, opts []transport.Option) (*transport.Server, error) {
			return transport.Listen(ctx, "tcp", "127.0.0.1:0", opts...)
		}),
		"Listen+WithTLS": listen(func(ctx context.Context, opts []transport.Option) (*transport.Server, error) {
			return transport.Listen(ctx, "tcp", "127.0.0.1:0", append([]transport.Option{transport.WithTLS(server)}, opts...)...)
		}),
		"ListenTLS": listen(func(ctx context.Context, opts []transport.Option) (*transport.Server, error) {
			return transport.ListenTLS(ctx, "tcp", "127.0.0.1:0", server, opts...)
		}),
		"ListenPacket": func(t *testing.T) func(context.Context, []transport.Option) (func(), error) {
			return func(ctx context.Context, opts []transport.Option) (func(), error) {
				tr, err := transport.ListenPacket(ctx, "udp", "127.0.0.1:0", opts...)
				if err != nil {
					return nil, err
				}
				return endOf(tr), nil
			}
		},
		"DialPacket": func(t *testing.T) func(context.Context, []transport.Option) (func(), error) {
			peer := rawPeer(t, "udp")
			return func(ctx context.Context, opts []transport.Option) (func(), error) {
				tr, err := transport.DialPacket(ctx, "udp", peer.LocalAddr().String(), opts...)
				if err != nil {
					return nil, err
				}
				return endOf(tr), nil
			}
		},
		"Exec": exe(func(ctx context.Context, opts []transport.Option) (transport.SubprocessTransport, error) {
			return transport.Exec(ctx, exec.Command("true"), opts...)
		}),
		"Shell": exe(func(ctx context.Context, opts []transport.Option) (transport.SubprocessTransport, error) {
			return transport.Shell(ctx, "true", opts...)
		}),
		"ReadPipe":  pipe(false),
		"WritePipe": pipe(true),
		// StartTLS's call upgrades a plain Dial; the ctx of the applies
		// test is cancelled, so the handshake fails after the options
		// were accepted.
		"StartTLS": func(t *testing.T) func(context.Context, []transport.Option) (func(), error) {
			ln := target(t, "tcp")
			plain, err := transport.Dial(context.Background(), "tcp", ln.Addr().String())
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			t.Cleanup(endOf(plain))
			return func(ctx context.Context, opts []transport.Option) (func(), error) {
				err := transport.StartTLS(ctx, plain, client, opts...)
				return func() {}, err
			}
		},
	}
}

// scopeOption is one option and the constructors it applies to.
type scopeOption struct {
	opt     transport.Option
	applies []string
}

// scopeOptions lists every option with where its doc says it applies.
func scopeOptions(client *tls.Config) map[string]scopeOption {
	var (
		dials      = []string{"Dial", "Dial+WithTLS", "DialTLS"}
		listens    = []string{"Listen", "Listen+WithTLS", "ListenTLS"}
		streams    = append(dials[:3:3], listens...)
		packets    = []string{"ListenPacket", "DialPacket"}
		sockets    = append(streams[:6:6], packets...)
		procs      = []string{"Exec", "Shell"}
		transports = append(sockets[:8:8], append(procs, "ReadPipe", "WritePipe")...)
		tlsSides   = []string{"Dial+WithTLS", "DialTLS", "Listen+WithTLS", "ListenTLS", "StartTLS"}
		tlsServers = []string{"Listen+WithTLS", "ListenTLS"}
		but        = func(all []string, not string) []string {
			var out []string
			for _, s := range all {
				if s != not {
					out = append(out, s)
				}
			}
			return out
		}
	)
	return map[string]scopeOption{
		"WithWriteBufferLimits": {transport.WithWriteBufferLimits(4096, 1024), but(transports, "ReadPipe")},
		"WithReadLimit":         {transport.WithReadLimit(4096), but(transports, "WritePipe")},
		"WithEventBuffer":       {transport.WithEventBuffer(8), transports},
		"WithPooledData":        {transport.WithPooledData(), but(transports, "WritePipe")},
		"WithErrorHandler":      {transport.WithErrorHandler(func(error) {}), transports},
		"WithHalfClose":         {transport.WithHalfClose(), streams},
		"WithNoDelay":           {transport.WithNoDelay(true), streams},
		"WithKeepAlive":         {transport.WithKeepAlive(time.Minute), streams},
		"WithReusePort":         {transport.WithReusePort(), sockets},
		"WithReuseAddr":         {transport.WithReuseAddr(), sockets},
		"WithReceiveBuffer":     {transport.WithReceiveBuffer(8192), sockets},
		"WithSendBuffer":        {transport.WithSendBuffer(8192), sockets},
		"WithBroadcast":         {transport.WithBroadcast(), packets},
		"WithLocalAddr":         {transport.WithLocalAddr("127.0.0.1:0"), append(dials[:3:3], "DialPacket")},
		"WithStartServing":      {transport.WithStartServing(false), listens},
		"WithStdin":             {transport.WithStdin(transport.Discard), procs},
		"WithStdout":            {transport.WithStdout(transport.Discard), procs},
		"WithStderr":            {transport.WithStderr(transport.Stdout), procs},
		// client's config: Listen takes any, and a server's would fail Dial.
		"WithTLS":               {transport.WithTLS(client), []string{"Dial", "Dial+WithTLS", "Listen", "Listen+WithTLS"}},
		"WithServerSide":        {transport.WithServerSide(), []string{"StartTLS"}},
		"WithHandshakeTimeout":  {transport.WithHandshakeTimeout(time.Minute), tlsSides},
		"WithShutdownTimeout":   {transport.WithShutdownTimeout(time.Minute), tlsSides},
		"WithHelloTimeout":      {transport.WithHelloTimeout(time.Minute), tlsServers},
		"WithHandshakeFailures": {transport.WithHandshakeFailures(func(net.Addr, error) {}), tlsServers},
	}
}

// scopePairs calls f for every option and constructor, sorted, saying
// whether the option applies there.
func scopePairs(t *testing.T, f func(t *testing.T, ctor scopeCtor, optName string, o scopeOption, applies bool)) {
	_, server, client := tlsCerts(t)
	ctors, opts := scopeCtors(server, client), scopeOptions(client)
	var names []string
	for name := range opts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, optName := range names {
		o := opts[optName]
		for ctorName, ctor := range ctors {
			applies := false
			for _, a := range o.applies {
				if _, ok := ctors[a]; !ok {
					t.Fatalf("%s applies to unknown constructor %q", optName, a)
				}
				applies = applies || a == ctorName
			}
			t.Run(optName+"/"+ctorName, func(t *testing.T) { f(t, ctor, optName, o, applies) })
		}
	}
}

// TestER1_OptionDoesNotApply gives every option to every constructor it
// does not apply to: each call fails with an error matching
// ErrInvalidOption that names the option and the constructor, and opens
// no descriptor (TestMain's goleak checks the goroutines). This covers
// WithStdin on Dial, WithLocalAddr on Listen, WithHandshakeFailures on
// Dial, and WithServerSide on Dial with WithTLS (which used to run a
// server handshake).
func TestER1_OptionDoesNotApply(t *testing.T) {
	refused := 0
	scopePairs(t, func(t *testing.T, ctor scopeCtor, optName string, o scopeOption, applies bool) {
		if applies {
			t.SkipNow()
		}
		refused++
		call := ctor(t)
		before := openFDs(t)
		release, err := call(context.Background(), []transport.Option{o.opt})
		if err == nil {
			release()
			t.Fatalf("accepted, want an error matching ErrInvalidOption")
		}
		if !errors.Is(err, transport.ErrInvalidOption) {
			t.Fatalf("err = %v, want one matching ErrInvalidOption", err)
		}
		ctorName := strings.TrimSuffix(t.Name()[strings.LastIndex(t.Name(), "/")+1:], "+WithTLS")
		if !strings.Contains(err.Error(), optName+" does not apply to "+ctorName) {
			t.Errorf("err = %q, want it to name %s and %s", err, optName, ctorName)
		}
		if after := openFDs(t); after > before { // fewer: an earlier transport finished closing
			t.Errorf("%d descriptors open after the refusal, %d before", after, before)
		}
	})
	if refused < 100 {
		t.Errorf("only %d refused pairs: the table lost its options", refused)
	}
}

// TestER1_OptionApplies gives every option to every constructor its doc
// says it applies to: each is accepted (StartTLS, with a cancelled ctx,
// fails its handshake instead).
func TestER1_OptionApplies(t *testing.T) {
	scopePairs(t, func(t *testing.T, ctor scopeCtor, optName string, o scopeOption, applies bool) {
		if !applies {
			t.SkipNow()
		}
		ctx := context.Background()
		startTLS := strings.HasSuffix(t.Name(), "/StartTLS")
		if startTLS {
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			ctx = cancelled
		}
		release, err := ctor(t)(ctx, []transport.Option{o.opt})
		switch {
		case errors.Is(err, transport.ErrInvalidOption):
			t.Fatalf("refused: %v", err)
		case err != nil && !startTLS:
			t.Fatalf("err = %v, want nil", err)
		case err == nil:
			release()
		}
	})
}

// TestER1_NilOptionIsInvalid checks that a nil Option matches
// ErrInvalidOption.
func TestER1_NilOptionIsInvalid(t *testing.T) {
	_, err := transport.Listen(context.Background(), "tcp", "127.0.0.1:0", nil)
	if !errors.Is(err, transport.ErrInvalidOption) {
		t.Fatalf("Listen with a nil Option: err = %v, want one matching ErrInvalidOption", err)
	}
}

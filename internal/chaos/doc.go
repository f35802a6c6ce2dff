// Package chaos is rxnet's chaos suite for ownership transfers: seeded,
// randomized interleavings of handing a connection's events from one
// consumer to the next (adapters.Detach inside DataReceived with a rest
// and from another goroutine, Detached.Attach, claims of Events and
// Observable, on the Detached stream or on the transport), mixed with
// Close, Abort, WriteEOF, StartTLS, PauseReading/ResumeReading, stalled
// consumers and cancelled contexts (an Observable subscription's,
// Connect's), some of them from several goroutines at once, while the
// peer writes a counter stream, half-closes, resets or stops reading.
// It runs over TCP, Unix sockets, TLS 1.3, and a plain TCP connection
// upgraded mid-stream with StartTLS (the kinds, Kinds).
//
// A Log records, in order, what every consumer of the ownership chain
// received and checks it as it arrives: the bytes are the peer's counter
// stream (Pattern) at the offset delivered so far, so a repeated, lost or
// foreign chunk is named; each event goes to the consumer that owns the
// stream at that moment; Made comes first and once; nothing follows
// Lost. At the end, Check judges what needs the whole run: exactly one
// Lost, at the chain's last owner, its channel closed or its Observable
// completed after it; every byte the peer sent before its FIN delivered
// (only a local Close, Abort or cancellation may drop a tail); Lost's
// error. Run also checks that no goroutine and (on Linux) no descriptor
// outlives an iteration, and bounds every wait with the iteration's
// timeout, reporting a stuck handoff with the goroutines as they were.
//
// A seed fixes every choice of an iteration (its kind is
// Kinds[seed%len(Kinds)]), not the scheduler's interleaving: replaying a
// seed runs it many times. The test in chaos_test.go runs the suite in a
// child process (a panic in one of rxnet's goroutines kills the process;
// the parent names the seed) for a few seconds as part of go test ./...;
// the environment makes it longer or replays a seed:
//
//	RXNET_CHAOS_DURATION=30m go test -race -count=1 -timeout 0 -run TestChaos_LC ./internal/chaos/
//	RXNET_CHAOS_ITERATIONS=1000000 go test -count=1 -timeout 0 -run TestChaos_LC ./internal/chaos/
//	RXNET_CHAOS_SEED=1234 go test -race -count=1 -run TestChaos_LC ./internal/chaos/
//
// A failure prints its seed and the command that replays it (the seed
// alone runs 200 times: RXNET_CHAOS_ITERATIONS changes that).
//
// RXNET_CHAOS_KINDS=tcp,unix runs the seeds of some kinds only, and
// RXNET_CHAOS_TIMEOUT changes one iteration's deadline (DefaultTimeout).
//
// Every function of the package may be called from any goroutine, but
// Run counts the process's goroutines and descriptors: run one at a time,
// with nothing else running in the process.
package chaos

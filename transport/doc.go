// Package transport provides rxnet's transports: asyncio's transports for
// Go, each emitting its events on a bounded channel (package stream).
//
// [Dial] connects and [Listen] serves TCP and Unix stream sockets; both
// return transports with asyncio's whole surface ([Transport]): Close,
// Abort, Done and Err, ExtraInfo, PauseReading and ResumeReading, Write (never
// blocking), WriteBuffers (writev), WriteEOF, write-buffer limits, and the
// Writable and Drain backpressure signals, plus net.Conn's LocalAddr and
// RemoteAddr and crypto/tls's ConnectionState. [ListenPacket] and
// [DialPacket] open UDP and unixgram endpoints ([DatagramTransport]);
// [Exec] and [Shell] run a child with its standard streams as pipes
// ([SubprocessTransport]); [ReadPipe] and [WritePipe] make transports of
// pipes, FIFOs and character devices. Every transport has [Stats].
// [DialTLS] and [ListenTLS] (or the [WithTLS] option) speak TLS through
// crypto/tls, and [StartTLS] upgrades an open connection in place.
// [FromConn], [FromListener] and [FromPacketConn] adopt sockets made
// elsewhere (systemd socket activation, another library's listener).
//
//	t, err := transport.Dial(ctx, "tcp", "example.com:7")
//	if err != nil { ... }
//	t.Write([]byte("hello"))
//	for ev := range t.Events() {
//		if ev.Kind == stream.Data {
//			fmt.Printf("%s", ev.Data)
//			t.Close()
//		}
//	}
//
// # Events
//
// A transport reads nothing until its events are claimed, by Events, by a
// subscription to Observable, or by the adapters package; then it
// delivers Made, the Data it reads, EOF, PauseWriting and ResumeWriting as
// they happen, and Lost last. Without [WithHalfClose] a transport closes
// itself after the peer's EOF, once its writes are flushed.
//
// # The end
//
// Close returns at once and flushes in the background. Every transport's
// Done channel is closed once it has ended (flushed, descriptor closed,
// Lost's error decided), whether or not its events are consumed, and Err
// then gives Lost's error:
//
//	t.Write(msg)
//	t.Close()
//	<-t.Done()
//	return t.Err() // nil, or why the flush failed
//
// [Server.RegisterOnShutdown] tells live transports that
// [Server.Shutdown] has begun.
//
// # Flow control
//
// Reading is bounded: a consumer that stops receiving stops the reads
// (at most the read limit, [WithReadLimit], is held), and TCP holds the
// peer back. Writing never blocks: what the kernel does not take at once
// is copied to the write buffer and flushed in the background. When the
// buffer goes strictly over its high-water mark the transport pauses:
// PauseWriting is emitted and Writable's channel stays open; when it comes
// back to the low-water mark or below, ResumeWriting is emitted, Writable
// is closed and Drain returns.
//
// # TLS
//
// A TLS transport is a stream transport with the same methods, events and
// guarantees. Certificates are verified as crypto/tls verifies them; a
// failed handshake is DialTLS's or StartTLS's error. EOF is the peer's
// close_notify only: a bare TCP FIN is Lost with [ErrTruncated]. Close
// sends close_notify and waits for the peer's ([WithShutdownTimeout]).
// Under TLS 1.3 close_notify half-closes, so WriteEOF and WithHalfClose
// work; under TLS 1.2 WriteEOF returns an error wrapping
// errors.ErrUnsupported. The write buffer counts encrypted bytes. A
// ListenTLS server bounds what it holds before Accept (silent peers,
// handshakes, handshaken connections: see [ListenTLS]). A panic in a
// tls.Config callback fails that one handshake with a [*PanicError].
//
// # Concurrency
//
// Multiple goroutines may invoke methods on a Transport or a Server
// simultaneously. Write order is the order in which Write calls return.
//
// # Errors
//
// Writes after Close, Abort or a failure return an error matching
// net.ErrClosed, whose chain also holds the original cause (a
// *net.OpError, with the kernel's errno such as ECONNRESET). Lost's error
// is nil for a clean end. Bad options and limits return errors, never
// panic: an option a constructor does not take is an error matching
// [ErrInvalidOption], an absurd value too, and bad write-buffer limits
// match [ErrInvalidLimits]. What fails where no caller can be told (a
// panic in a Protocol's ConnectionLost, a TLS wrap failing on accept)
// goes to the [WithErrorHandler] function, or to the log package, as
// http.Server's ErrorLog does.
//
// # Platform support
//
// Stream, pipe and subprocess transports need a Unix system; datagram
// endpoints need Linux. WithNoDelay and WithKeepAlive work wherever TCP
// does; the other socket options (WithReusePort, WithReuseAddr,
// WithBroadcast, WithReceiveBuffer, WithSendBuffer) are Linux only.
// Elsewhere these return an error wrapping errors.ErrUnsupported.
//
// # Engines
//
// On Linux the TCP and Unix transports, the UDP and unixgram endpoints,
// pipes and a subprocess's pipes run on a few shared epoll loops (one per
// GOMAXPROCS), whether package adapters drives them or a channel or an
// Observable consumes their events: an idle one holds no goroutine and
// no buffer. The adapters' callbacks run on the loop that read the data,
// so a callback that blocks delays that loop's other transports. A
// channel consumer's transport reads only while the consumer has room,
// and holds one goroutine only while the consumer lags. TLS transports,
// and every transport elsewhere, have a read goroutine of their own; a
// subprocess has one that waits for the child's exit. The environment
// variable RXNET_ENGINE, read when a transport is made, chooses:
// "goroutine" puts every transport on its own goroutine; "poll", or
// unset, is the default.
package transport

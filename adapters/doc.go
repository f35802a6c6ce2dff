// Package adapters folds rxnet's event streams back into asyncio's
// callback interfaces, so asyncio or Twisted protocol code ports method
// for method, and offers io.Reader and io.Writer views of a transport.
//
// [Connect] dials and drives a [Protocol]; [Serve] drives one protocol per
// accepted connection; [Adapt] drives an open transport. [ListenDatagram]
// and [ConnectDatagram] drive a [DatagramProtocol] (asyncio's
// create_datagram_endpoint); [RunProcess] and [RunShell] drive a
// [SubprocessProtocol] (subprocess_exec, subprocess_shell);
// [ConnectReadPipe] and [ConnectWritePipe] drive a Protocol from a pipe.
// [Detach] hands a Protocol's connection to a stream or an rx pipeline
// mid-way, and [Detached.Attach] hands it back. [NewWriter] gives io.Copy
// backpressure; [NewReader] reads Data events as a byte stream.
//
// The functions that open something have one shape: ctx (when they have
// one), what to open, the factory, the options; they return at once, once
// ConnectionMade has returned, with the transport and the protocol, and
// on any failure abort what they opened. [Serve] alone blocks, as
// http.Server's Serve does, until its ctx ends or its server is closed.
//
//	type Echo struct {
//		adapters.BaseProtocol
//		t transport.Transport
//	}
//
//	func (e *Echo) ConnectionMade(t transport.Transport) { e.t = t }
//	func (e *Echo) DataReceived(b []byte)               { e.t.Write(b) } // Write copies b
//	func (e *Echo) PauseWriting()  { e.t.PauseReading() } // the peer is not reading: stop reading
//	func (e *Echo) ResumeWriting() { e.t.ResumeReading() }
//
//	srv, _ := transport.Listen(ctx, "tcp", "127.0.0.1:8888")
//	go adapters.Serve(ctx, srv, func() *Echo { return &Echo{} })
//
// Over TLS the protocols are the same: Serve a transport.ListenTLS
// server, and Connect with the transport.WithTLS option. A handshake
// failure never reaches a protocol. transport.StartTLS may be called
// from inside a callback (DataReceived answering a STARTTLS, say): it
// runs the handshake there, and the callbacks that follow get plaintext.
//
// # Event lifecycle
//
//	ConnectionMade ─▶ DataReceived* ─▶ EOFReceived? ─▶ ConnectionLost
//	                  PauseWriting ⇄ ResumeWriting (any time before Lost)
//
// A DatagramProtocol gets DatagramReceived and ErrorReceived in place of
// DataReceived and EOFReceived; a SubprocessProtocol gets
// PipeDataReceived, PipeConnectionLost (once per pipe) and ProcessExited
// (once), then ConnectionLost.
//
// ConnectionMade is called first, exactly once; ConnectionLost last,
// exactly once. DataReceived never comes after EOFReceived, nor after the
// transport was closed, nor while reading is paused. PauseWriting and
// ResumeWriting alternate, starting with PauseWriting.
//
// # Concurrency
//
// The adapter never calls two callbacks of one protocol at once, and calls
// them in event order. On Linux the callbacks of a TCP or Unix transport,
// a pipe, or a UDP or unixgram endpoint, run on the poller loop that read
// its data, shared by many transports, as in
// asyncio: a callback that blocks delays the other transports of its loop
// (not those of the other loops), so hand slow work to a goroutine. A
// subprocess's pipes share one loop; its ProcessExited runs off the loop
// (on the goroutine that reaped the child, as a rule). A
// StartTLS or Detach inside a callback takes its transport off the loop
// first, and the loop goes on without it. Elsewhere (RXNET_ENGINE=goroutine,
// TLS, character devices) they run on the transport's read
// goroutine (a subprocess's on the goroutine of the pipe, or of the exit,
// they come from). A PauseWriting
// caused by a Write inside a callback is called before that Write returns;
// one caused by a Write from another goroutine is called on that goroutine
// if no callback is running, or right after the running one otherwise.
// Code that must know the write state at once reads the transport's
// Writable channel.
//
// # Errors
//
// A panicking callback aborts its transport with a [*PanicError] as
// ConnectionLost's error; a server keeps serving its other connections.
package adapters

package transport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// ExampleDial connects to an echo server and ranges over the transport's
// events: Made, the echoed Data, and Lost after Close.
func ExampleDial() {
	ctx := context.Background()

	// An echo server on a free local port.
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		t, err := srv.Accept(ctx)
		if err != nil {
			return
		}
		for ev := range t.Events() {
			if ev.Kind == stream.Data {
				t.Write(ev.Data)
			}
		}
	}()

	t, err := transport.Dial(ctx, "tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	t.Write([]byte("hello")) // Write never blocks, even before the events are claimed
	var echo []byte
	for ev := range t.Events() {
		switch ev.Kind {
		case stream.Made:
			fmt.Println("connected")
		case stream.Data: // TCP may split the echo: collect it
			echo = append(echo, ev.Data...)
			if len(echo) == len("hello") {
				fmt.Printf("echo: %s\n", echo)
				t.Close()
			}
		case stream.Lost:
			fmt.Println("lost:", ev.Err)
		}
	}
	<-served // the server saw EOF and closed its side
	// Output:
	// connected
	// echo: hello
	// lost: <nil>
}

// ExampleListen serves an upper-casing protocol to a plain net.Conn client.
func ExampleListen() {
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			t, err := srv.Accept(ctx)
			if err != nil {
				return // transport.ErrServerClosed after Close
			}
			wg.Go(func() {
				for ev := range t.Events() {
					if ev.Kind == stream.Data {
						t.Write(bytes.ToUpper(ev.Data))
					}
				}
				// After the client's EOF the transport flushed and closed
				// itself: Lost was the last event.
			})
		}
	})

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	c.Write([]byte("hello, rxnet"))
	c.(*net.TCPConn).CloseWrite()
	reply, err := io.ReadAll(c)
	c.Close()
	fmt.Printf("%s %v\n", reply, err)

	srv.Close()
	wg.Wait()
	_, err = srv.Accept(ctx)
	fmt.Println(errors.Is(err, transport.ErrServerClosed))
	// Output:
	// HELLO, RXNET <nil>
	// true
}

// ExampleTransport_Drain writes 2 MiB as fast as the peer takes it: Write
// never blocks, and Drain waits while the write buffer is over its
// high-water mark (asyncio's write + await drain()).
func ExampleTransport_Drain() {
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	received := make(chan int)
	go func() {
		t, err := srv.Accept(ctx)
		if err != nil {
			close(received)
			return
		}
		n := 0
		for ev := range t.Events() {
			if ev.Kind == stream.Data {
				n += len(ev.Data)
			}
		}
		received <- n
	}()

	t, err := transport.Dial(ctx, "tcp", srv.Addr().String(),
		transport.WithWriteBufferLimits(64<<10, transport.DefaultLimit))
	if err != nil {
		log.Fatal(err)
	}
	high, low := t.WriteBufferLimits()
	fmt.Println("limits:", high, low)
	lost := make(chan error)
	go func() {
		// PauseWriting and ResumeWriting arrive here too; Drain is enough.
		for ev := range t.Events() {
			if ev.Kind == stream.Lost {
				lost <- ev.Err
			}
		}
	}()

	chunk := make([]byte, 32<<10)
	sent := 0
	for range 64 {
		if _, err := t.Write(chunk); err != nil {
			log.Fatal(err)
		}
		sent += len(chunk)
		if err := t.Drain(ctx); err != nil {
			log.Fatal(err)
		}
	}
	t.Close() // flushes what is buffered, then closes
	fmt.Println("drain after close:", errors.Is(t.Drain(ctx), net.ErrClosed))
	fmt.Println("lost:", <-lost)
	fmt.Println("sent:", sent, "received:", <-received)
	// Output:
	// limits: 65536 16384
	// drain after close: true
	// lost: <nil>
	// sent: 2097152 received: 2097152
}

// ExampleTransport_Done writes 1 MiB without consuming the events, then
// closes and waits on Done: Close returns before the flush, and a program
// that returned there could end before the peer has everything. Err then
// says whether the flush worked.
func ExampleTransport_Done() {
	ctx := context.Background()
	// A peer that counts what it receives until EOF.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	received := make(chan int64)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(received)
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		received <- n
	}()

	t, err := transport.Dial(ctx, "tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	// Write never blocks: what the kernel did not take is buffered.
	if _, err := t.Write(make([]byte, 1<<20)); err != nil {
		log.Fatal(err)
	}
	t.Close()  // returns at once; the flush goes on
	<-t.Done() // the flush is over and the socket closed
	fmt.Println("err:", t.Err())
	fmt.Println("received:", <-received)
	// Output:
	// err: <nil>
	// received: 1048576
}

// ExampleServer_RegisterOnShutdown says goodbye to the live connections
// when Shutdown begins; Shutdown returns once they have closed.
func ExampleServer_RegisterOnShutdown() {
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	client, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	t, err := srv.Accept(ctx)
	if err != nil {
		log.Fatal(err)
	}
	srv.RegisterOnShutdown(func() { // runs in its own goroutine: do not wait here
		t.Write([]byte("server going away\n"))
		t.Close()
	})

	shut := make(chan error)
	go func() { shut <- srv.Shutdown(ctx) }()
	bye, err := io.ReadAll(client) // the goodbye, then EOF
	fmt.Printf("client read %q, %v\n", bye, err)
	fmt.Println("shutdown:", <-shut)
	// Output:
	// client read "server going away\n", <nil>
	// shutdown: <nil>
}

// ExampleTransport_Observable composes a transport's events with rxgo:
// keep the Data events, map them to upper-case strings. The Observable
// completes after Lost.
func ExampleTransport_Observable() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // always cancel the subscription's context

	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	go func() {
		t, err := srv.Accept(ctx)
		if err != nil {
			return
		}
		t.Write([]byte("reactive "))
		t.Write([]byte("transports"))
		t.Close() // flushes, then closes: the client sees EOF
	}()

	t, err := transport.Dial(ctx, "tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	upper := t.Observable(rxgo.WithContext(ctx)).
		Filter(func(v any) bool { return v.(stream.Event).Kind == stream.Data }).
		Map(func(_ context.Context, v any) (any, error) {
			return strings.ToUpper(string(v.(stream.Event).Data)), nil
		})
	var text strings.Builder
	for item := range upper.Observe(rxgo.WithContext(ctx)) {
		if item.Error() {
			log.Fatal(item.E)
		}
		text.WriteString(item.V.(string)) // TCP may split the text
	}
	fmt.Println(text.String())
	fmt.Println("closing:", t.IsClosing())
	// Output:
	// REACTIVE TRANSPORTS
	// closing: true
}

// ExampleTransport_Events_oneConsumer shows that a transport's events have
// one consumer: once the channel has claimed them, an Observable
// subscription gets a single stream.ErrAlreadySubscribed error item and
// none of the events, which stay the channel's.
func ExampleTransport_Events_oneConsumer() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	go func() {
		t, err := srv.Accept(ctx)
		if err != nil {
			return
		}
		t.Write([]byte("hello"))
		t.Close()
	}()

	t, err := transport.Dial(ctx, "tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	events := t.Events() // the first consumer claims the events
	for item := range t.Observable().Observe(rxgo.WithContext(ctx)) {
		fmt.Println("second consumer:", errors.Is(item.E, stream.ErrAlreadySubscribed))
	}
	var got []byte
	for ev := range events {
		got = append(got, ev.Data...) // TCP may split the greeting
	}
	fmt.Printf("first consumer: %q\n", got)
	// Output:
	// second consumer: true
	// first consumer: "hello"
}

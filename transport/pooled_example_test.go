package transport_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// echoPooled writes each Data back, then gives its buffer back with
// Release: Write never keeps its argument, so the bytes are not needed
// after it. Drain holds the loop while the peer reads slower than it
// writes, which in turn stops the reads (flow control end to end).
func echoPooled(ctx context.Context, t transport.Transport) {
	for e := range t.Events() {
		if e.Kind != stream.Data {
			continue
		}
		_, err := t.Write(e.Data)
		e.Release() // e.Data must not be used from here on
		if err != nil || t.Drain(ctx) != nil {
			t.Abort()
		}
	}
}

// A server whose Data events carry pooled buffers: a steady stream reuses
// the same few buffers instead of allocating one per read.
func ExampleWithPooledData() {
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0", transport.WithPooledData())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	go func() {
		for {
			t, err := srv.Accept(ctx)
			if err != nil {
				return
			}
			go echoPooled(ctx, t)
		}
	}()

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("pooled hello"))
	c.(*net.TCPConn).CloseWrite()
	echo, _ := io.ReadAll(c)
	fmt.Printf("%s\n", echo)
	// Output: pooled hello
}

// An rx pipeline over pooled events: the stage that is done with an
// event's bytes releases it. Here the subscriber writes each Data back
// and releases it; a Map that turns Data into something else would
// release it once it has what it needs. A pipeline that replies closes
// the transport itself at EOF (WithHalfClose).
func ExampleWithPooledData_observable() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0", transport.WithPooledData(), transport.WithHalfClose())
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	go func() {
		t, err := srv.Accept(ctx)
		if err != nil {
			return
		}
		<-t.Observable().ForEach(func(v any) {
			switch e := v.(stream.Event); e.Kind {
			case stream.Data:
				t.Write(e.Data)
				e.Release()
			case stream.EOF:
				t.Close() // after the echo, flushed first
			}
		}, func(error) {}, func() {}, rxgo.WithContext(ctx))
	}()

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("rx hello"))
	c.(*net.TCPConn).CloseWrite()
	echo, _ := io.ReadAll(c)
	fmt.Printf("%s\n", echo)
	// Output: rx hello
}

package transport_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"strings"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// A whole server as one rx pipeline: FlatMap turns each accepted
// transport into its own Observable, which upper-cases and echoes the
// data it receives and closes the transport at EOF (WithHalfClose, so
// the reply is written before the close). FlatMap takes the transports
// one after the other, which suits clients that come one at a time.
func ExampleServer_Observable() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // always cancel the subscription's context
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0", transport.WithHalfClose())
	if err != nil {
		log.Fatal(err)
	}

	served := srv.Observable().FlatMap(func(item rxgo.Item) rxgo.Observable {
		t := item.V.(transport.Transport)
		return t.Observable().
			Map(func(_ context.Context, v any) (any, error) {
				e := v.(stream.Event)
				switch e.Kind {
				case stream.Data:
					t.Write(bytes.ToUpper(e.Data))
				case stream.EOF:
					t.Close()
				}
				return e, nil
			}).
			Filter(func(v any) bool { return v.(stream.Event).Kind == stream.Data })
	}, rxgo.WithContext(ctx))
	done := make(chan string)
	go func() {
		var all strings.Builder
		for item := range served.Observe(rxgo.WithContext(ctx)) {
			all.Write(item.V.(stream.Event).Data) // TCP may split the data
		}
		done <- all.String() // the Observable completed: the server closed
	}()

	for _, msg := range []string{"hello", "rx", "servers"} {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			log.Fatal(err)
		}
		io.WriteString(c, msg)
		c.(*net.TCPConn).CloseWrite()
		reply, err := io.ReadAll(c)
		c.Close()
		fmt.Printf("%s -> %s (%v)\n", msg, reply, err)
	}
	srv.Close()
	fmt.Println("served:", <-done)
	fmt.Println("accepted:", srv.Stats().Accepted)
	// Output:
	// hello -> HELLO (<nil>)
	// rx -> RX (<nil>)
	// servers -> SERVERS (<nil>)
	// served: hellorxservers
	// accepted: 3
}

// A server that ranges over its transports: each one is served by its own
// goroutine, ranging over the transport's events. The channel closes when
// the server is closed.
func ExampleServer_Transports() {
	srv, err := transport.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for t := range srv.Transports() {
			go func() {
				for e := range t.Events() {
					if e.Kind == stream.Data {
						t.Write(e.Data) // an echo; after EOF the transport closes itself
					}
				}
			}()
		}
	}()

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(c, "ping")
	c.(*net.TCPConn).CloseWrite()
	reply, _ := io.ReadAll(c)
	c.Close()
	fmt.Printf("%s\n", reply)

	srv.Close()
	<-ended
	fmt.Println("Transports closed after Close")
	// Output:
	// ping
	// Transports closed after Close
}

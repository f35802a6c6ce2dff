package transport_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// Listening without serving (asyncio's start_serving=False): the server
// binds and listens at once, so its address can be handed out, and a
// client may connect and send before the program accepts anything; it
// waits in the kernel's backlog until StartServing.
func ExampleServer_StartServing() {
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0", transport.WithStartServing(false))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	fmt.Println("serving:", srv.IsServing())

	c, err := net.Dial("tcp", srv.Addr().String()) // connects: the backlog
	if err != nil {
		log.Fatal(err)
	}
	c.Write([]byte("early bird"))
	c.Close()

	if err := srv.StartServing(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("serving:", srv.IsServing())
	t, err := srv.Accept(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var got []byte
	for ev := range t.Events() { // Made, Data..., EOF, Lost
		if ev.Kind == stream.Data {
			got = append(got, ev.Data...) // TCP may split the data
		}
	}
	fmt.Printf("received %q\n", got)
	srv.Close()
	fmt.Println("serving:", srv.IsServing())
	// Output:
	// serving: false
	// serving: true
	// received "early bird"
	// serving: false
}

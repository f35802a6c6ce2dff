package transport_test

import (
	"context"
	"fmt"
	"log"

	"github.com/rxnet/rxnet/transport"
)

// ExampleTransport_LocalAddr reads both ends' addresses: the client's
// local address is the server's remote one and the other way round, as
// with net.Conn. They stay readable after the transport has ended.
func ExampleTransport_LocalAddr() {
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	client, err := transport.Dial(ctx, "tcp", srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	server, err := srv.Accept(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range []transport.Transport{client, server} {
		t.Abort()
		for range t.Events() { // wait for Lost: the channel closes after it
		}
	}

	fmt.Println(client.LocalAddr().Network())
	fmt.Println(client.RemoteAddr().String() == srv.Addr().String())
	fmt.Println(server.RemoteAddr().String() == client.LocalAddr().String())
	_, isTLS := client.ConnectionState()
	fmt.Println("TLS:", isTLS)
	// Output:
	// tcp
	// true
	// true
	// TLS: false
}

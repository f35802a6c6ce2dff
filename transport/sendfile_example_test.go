package transport_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/rxnet/rxnet/transport"
)

// ExampleSendFile serves a file after a header: SendFile waits for the
// header to leave the write buffer, then sends the file's bytes with
// sendfile(2) where it can (a copy in bounded chunks otherwise), waiting
// for the socket while the peer is slow, so nothing is buffered in
// memory. Done says when Close has flushed everything.
func ExampleSendFile() {
	dir, err := os.MkdirTemp("", "sendfile")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "greeting.txt")
	if err := os.WriteFile(name, []byte("Hello from a file.\n"), 0o600); err != nil {
		log.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0") // the client, here a plain net.Conn
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	received := make(chan []byte)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(received)
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(io.LimitReader(c, 1<<20)) // bounded
		received <- b
	}()

	t, err := transport.Dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	t.Write([]byte("file follows\n"))
	n, err := transport.SendFile(context.Background(), t, f, 0, 0) // 0: to the end
	if err != nil {
		log.Fatal(err)
	}
	t.Close()
	<-t.Done()
	fmt.Printf("sent %d bytes\n", n)
	fmt.Printf("%s", <-received)
	// Output:
	// sent 19 bytes
	// file follows
	// Hello from a file.
}

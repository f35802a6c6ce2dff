package transport_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"

	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// ExampleDialTLS serves an echo over TLS with ListenTLS and talks to it
// with DialTLS: the certificate is verified, the events are those of any
// stream transport, and Close ends with the close_notify exchange.
func ExampleDialTLS() {
	ctx := context.Background()
	ca, err := certs.NewCA() // a throwaway CA; use your own certificates
	if err != nil {
		log.Fatal(err)
	}
	serverConfig, clientConfig, err := ca.Localhost()
	if err != nil {
		log.Fatal(err)
	}

	srv, err := transport.ListenTLS(ctx, "tcp", "127.0.0.1:0", serverConfig)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	go func() {
		t, err := srv.Accept(ctx) // handed out once its handshake is done
		if err != nil {
			return
		}
		for ev := range t.Events() {
			if ev.Kind == stream.Data {
				t.Write(ev.Data)
			}
		}
	}()

	t, err := transport.DialTLS(ctx, "tcp", srv.Addr().String(), clientConfig)
	if err != nil {
		log.Fatal(err) // a certificate that does not verify fails here
	}
	state, _ := t.ConnectionState()
	fmt.Println(tls.VersionName(state.Version), state.PeerCertificates[0].DNSNames)
	t.Write([]byte("hello"))
	var echo []byte
	for ev := range t.Events() {
		switch ev.Kind {
		case stream.Data:
			if echo = append(echo, ev.Data...); len(echo) == len("hello") {
				fmt.Printf("echo: %s\n", echo)
				t.Close() // sends close_notify and waits for the server's
			}
		case stream.Lost:
			fmt.Println("lost:", ev.Err)
		}
	}
	// Output:
	// TLS 1.3 [localhost]
	// echo: hello
	// lost: <nil>
}

// ExampleStartTLS upgrades a plain connection in the middle of its
// stream, STARTTLS style: the events go on on the same channel, and the
// same transport now encrypts.
func ExampleStartTLS() {
	ctx := context.Background()
	ca, err := certs.NewCA()
	if err != nil {
		log.Fatal(err)
	}
	serverConfig, clientConfig, err := ca.Localhost()
	if err != nil {
		log.Fatal(err)
	}
	clientConfig.ServerName = "localhost" // StartTLS knows no host name

	// A server written with crypto/tls: it answers STARTTLS, then speaks
	// TLS on the same connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if line, _ := bufio.NewReader(c).ReadString('\n'); line != "STARTTLS\n" {
			return
		}
		c.Write([]byte("GO AHEAD\n"))
		s := tls.Server(c, serverConfig)
		buf := make([]byte, 64)
		n, _ := s.Read(buf)
		s.Write(append([]byte("secret "), buf[:n]...))
		s.Close()
	}()

	t, err := transport.Dial(ctx, "tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	events := t.Events()
	<-events // Made
	t.Write([]byte("STARTTLS\n"))
	if ev := <-events; string(ev.Data) != "GO AHEAD\n" {
		log.Fatalf("unexpected %v", ev)
	}
	if err := transport.StartTLS(ctx, t, clientConfig); err != nil {
		log.Fatal(err) // the transport is closed too
	}
	t.Write([]byte("hello"))
	for ev := range events {
		switch ev.Kind {
		case stream.Data:
			fmt.Printf("%s\n", ev.Data)
		case stream.EOF:
			fmt.Println("EOF (close_notify)")
		case stream.Lost:
			fmt.Println("lost:", ev.Err)
		}
	}
	// Output:
	// secret hello
	// EOF (close_notify)
	// lost: <nil>
}

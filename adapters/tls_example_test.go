package adapters_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/transport"
)

// ExampleServe's echo server and client, over TLS (asyncio's
// create_server and create_connection with ssl=): the protocols do not
// change, only the options do. The certificates come from a throwaway
// certificate authority made in memory.
func ExampleConnect_tls() {
	ca, err := certs.NewCA()
	if err != nil {
		log.Fatal(err)
	}
	serverConfig, clientConfig, err := ca.Localhost() // the client trusts ca only
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	srv, err := transport.ListenTLS(ctx, "tcp", "127.0.0.1:0", serverConfig)
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- adapters.Serve(ctx, srv, func() *echoServer { return &echoServer{} })
	}()

	client := &echoClient{done: make(chan struct{})}
	// Connect returns once the handshake is done and ConnectionMade has
	// returned; a certificate the client does not trust is Connect's error.
	t, _, err := adapters.Connect(ctx, "tcp", srv.Addr().String(), func() *echoClient { return client },
		transport.WithTLS(clientConfig))
	if err != nil {
		log.Fatal(err)
	}
	cipher, _ := t.ExtraInfo(transport.InfoCipher)
	peercert, _ := t.ExtraInfo(transport.InfoPeercert)
	fmt.Println("version:", cipher.(transport.CipherInfo).Version)
	fmt.Println("server certificate for:", peercert.(*x509.Certificate).DNSNames)

	t.Write([]byte("Hello TLS!"))
	t.WriteEOF() // close_notify: a half-close under TLS 1.3
	<-client.done

	srv.Close()
	err = <-served
	fmt.Println("Serve returned ErrServerClosed:", errors.Is(err, transport.ErrServerClosed))
	// Output:
	// version: TLS 1.3
	// server certificate for: [localhost]
	// client received "Hello TLS!", connection lost: <nil>
	// Serve returned ErrServerClosed: true
}

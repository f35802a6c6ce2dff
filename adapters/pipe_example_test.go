//go:build unix

package adapters_test

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// pipeReader is a Protocol that collects what a read pipe delivers.
type pipeReader struct {
	adapters.BaseProtocol
	got  []byte
	done chan struct{}
}

var _ adapters.Protocol = (*pipeReader)(nil)

func (p *pipeReader) DataReceived(data []byte) { p.got = append(p.got, data...) } // data is borrowed: copy it

func (p *pipeReader) EOFReceived() bool {
	fmt.Printf("EOFReceived after %q\n", p.got)
	return false // a read pipe closes at EOF whatever it returns
}

func (p *pipeReader) ConnectionLost(err error) {
	fmt.Println("ConnectionLost:", err)
	close(p.done)
}

// ConnectReadPipe (asyncio's connect_read_pipe) drives a Protocol from
// the read end of a pipe; it returns once ConnectionMade has returned.
// ConnectWritePipe has the same shape for the write end.
func ExampleConnectReadPipe() {
	r, w, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	// The transport takes r over: it closes r at the end.
	_, p, err := adapters.ConnectReadPipe(r, func() *pipeReader { return &pipeReader{done: make(chan struct{})} })
	if err != nil {
		log.Fatal(err)
	}
	w.Write([]byte("through a pipe"))
	w.Close()
	<-p.done
	// Output:
	// EOFReceived after "through a pipe"
	// ConnectionLost: <nil>
}

// pipeWriter is a Protocol that writes a greeting on a write pipe.
type pipeWriter struct {
	adapters.BaseProtocol
	done chan struct{}
}

var _ adapters.Protocol = (*pipeWriter)(nil)

func (p *pipeWriter) ConnectionMade(t transport.Transport) {
	t.Write([]byte("hello, reader"))
	t.WriteEOF() // on a write pipe: flush, then close
}

func (p *pipeWriter) ConnectionLost(err error) {
	fmt.Println("ConnectionLost:", err)
	close(p.done)
}

// ConnectWritePipe (asyncio's connect_write_pipe) drives a Protocol from
// the write end of a pipe: ConnectionMade gets a Transport that never
// reads.
func ExampleConnectWritePipe() {
	r, w, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	_, p, err := adapters.ConnectWritePipe(w, func() *pipeWriter { return &pipeWriter{done: make(chan struct{})} })
	if err != nil {
		log.Fatal(err)
	}
	<-p.done
	got, _ := io.ReadAll(r)
	fmt.Printf("the reader got %q\n", got)
	// Output:
	// ConnectionLost: <nil>
	// the reader got "hello, reader"
}

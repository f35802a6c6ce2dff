package stream_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
)

// Lines over a channel of events, the way a transport's Events delivers
// them: lines cut across reads come out whole, in order with the other
// events.
func ExampleLines() {
	in := make(chan stream.Event, 4)
	go func() {
		defer close(in)
		in <- stream.Event{Kind: stream.Made}
		for _, read := range []string{"hel", "lo\nwor", "ld\r\nbye"} {
			in <- stream.Event{Kind: stream.Data, Data: []byte(read)}
		}
		in <- stream.Event{Kind: stream.EOF}
		in <- stream.Event{Kind: stream.Lost}
	}()

	// With a transport: stream.Lines(0).Frames(t.Events(), t.Abort).
	for f := range stream.Lines(0).Frames(in, nil) {
		if f.Kind == stream.Data {
			fmt.Printf("frame %q\n", f.Data)
		} else {
			fmt.Println(f)
		}
	}
	// Output:
	// Made
	// frame "hello"
	// frame "world"
	// frame "bye"
	// EOF
	// Lost(<nil>)
}

// A length-prefixed round trip: Append encodes, Frames decodes whatever
// the reads' sizes, Payloads keeps the frames' bytes.
func ExampleLengthPrefixed() {
	f := stream.LengthPrefixed(2, binary.BigEndian, 1024)
	var wire []byte
	for _, msg := range []string{"ping", "", "pong"} {
		wire, _ = f.Append(wire, []byte(msg))
	}
	fmt.Printf("wire: % x\n", wire)

	in := make(chan stream.Event, len(wire))
	for i := 0; i < len(wire); i += 3 { // 3-byte reads
		in <- stream.Event{Kind: stream.Data, Data: wire[i:min(i+3, len(wire))]}
	}
	in <- stream.Event{Kind: stream.Lost}
	close(in)

	msgs, errf := stream.Payloads(f.Frames(in, nil))
	for msg := range msgs {
		fmt.Printf("message %q\n", msg)
	}
	fmt.Println("error:", errf())
	// Output:
	// wire: 00 04 70 69 6e 67 00 00 00 04 70 6f 6e 67
	// message "ping"
	// message ""
	// message "pong"
	// error: <nil>
}

// WriteFrame writes each encoded frame in one Write, so a transport (or
// adapters.NewWriter, which waits for drain) sees whole frames.
func ExampleFramer_WriteFrame() {
	var w bytes.Buffer // a transport in real code
	f := stream.Delimited([]byte("\r\n\r\n"), 0)
	for _, msg := range []string{"hello", "world"} {
		if err := f.WriteFrame(&w, []byte(msg)); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Printf("%q\n", w.String())
	fmt.Println(f.WriteFrame(&w, []byte("bad\r\n\r\nframe")))
	// Output:
	// "hello\r\n\r\nworld\r\n\r\n"
	// stream: frame cannot be encoded: it holds its separator
}

// Lines as an rx operator: each frame is one Data item, and the rest of
// the pipeline works on whole lines.
func ExampleFramer_Observable() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Events as a transport's Observable emits them: request lines cut
	// across two reads.
	events := rxgo.Just(
		stream.Event{Kind: stream.Made},
		stream.Event{Kind: stream.Data, Data: []byte("get /a\r\nget")},
		stream.Event{Kind: stream.Data, Data: []byte(" /b\r\n")},
		stream.Event{Kind: stream.EOF},
		stream.Event{Kind: stream.Lost},
	)()

	// With a transport: stream.Lines(0).Observable(t.Observable(), t.Abort).
	lines := stream.Lines(0).Observable(events, nil).
		Filter(func(v any) bool { return v.(stream.Event).Kind == stream.Data }).
		Map(func(_ context.Context, v any) (any, error) {
			return strings.ToUpper(string(v.(stream.Event).Data)), nil
		})
	for item := range lines.Observe(rxgo.WithContext(ctx)) {
		fmt.Printf("%q\n", item.V)
	}
	// Output:
	// "GET /A"
	// "GET /B"
}

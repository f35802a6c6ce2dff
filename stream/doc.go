// Package stream defines the events every rxnet transport emits, through
// its Events channel or its rxgo Observable, and the stages a consumer
// builds on them: framers that cut Data into frames, and payloads.
//
// A transport's events are a [Made] first, then [Data] (or datagram and
// subprocess events) in the order they happened, at most one [EOF] after
// the last Data, [PauseWriting] and [ResumeWriting] as the write buffer
// crosses its marks, and a [Lost] last, exactly once, after which the
// channel is closed:
//
//	for ev := range t.Events() {
//		switch ev.Kind {
//		case stream.Data:
//			t.Write(ev.Data)
//		case stream.Lost:
//			log.Println("lost:", ev.Err)
//		}
//	}
//
// # Consumers
//
// A transport has one consumer: the channel from Events, one subscription
// of its Observable, or the Protocol adapter of package adapters. A second
// one gets [ErrAlreadySubscribed], never half of the events.
//
// # Flow control
//
// The channel is bounded: a consumer that stops receiving stops the
// transport's reads, and the peer is held back by the kernel. Control
// events (PauseWriting, ResumeWriting) never block a writer: when the
// channel is full they wait beside it, and a pause and resume that are both
// still waiting cancel out.
//
// # Framing
//
// [Lines], [Delimited], [LengthPrefixed] and [Split] make a [Framer],
// which cuts a stream's Data into frames, each bounded by a maximum size:
// on the channel ([Framer.Frames]) or as an rx operator
// ([Framer.Observable], [Framer.Operator]). A framed stream is an event
// stream whose Data events each hold one frame; every other event passes
// through in order. An oversize frame aborts the transport and ends the
// stream with a Lost carrying [ErrFrameTooLarge]. [Framer.WriteFrame]
// encodes a frame in one Write, for a drain-aware writer. [Payloads] and
// [PayloadsObservable] turn a stream into its payloads.
//
//	lines := stream.Lines(4096).Frames(t.Events(), t.Abort)
//	for ev := range lines {
//		if ev.Kind == stream.Data {
//			fmt.Printf("line %q\n", ev.Data)
//		}
//	}
//
// # Pooled data
//
// A transport made with transport.WithPooledData hands Data, Datagram and
// PipeData in pooled buffers: Data may be used until [Event.Release],
// which gives the buffer back. Framers give pooled frames for pooled
// input and release what they consume; [Payloads] releases a payload
// after the consumer's next receive; [PayloadsObservable] emits copies.
//
// # Concurrency
//
// Events are values; Data belongs to the receiver (a pooled event's,
// until its Release). A Framer is a value
// that any number of goroutines may use at once; each stage it makes
// (Frames, Observable) runs on its own goroutine and has one consumer.
package stream

// Package queue is the bounded, single-consumer event queue behind every
// rxnet transport's Events channel and Observable. Its producer (a
// transport, or adapters' Detached) sends events and finishes it; exactly
// one consumer claims it, as a channel (Events), an rxgo subscription
// (Observable) or a claim of its own (Claim, Reserve), and the first claim
// starts the producer. The consumer-side contract users rely on is written
// on transport.BaseTransport's Events and Observable; DESIGN.md ("Events" and
// "Decisions") gives the producer-side rules.
//
// Multiple goroutines may invoke methods on a Queue simultaneously, with
// one producer and one consumer.
package queue

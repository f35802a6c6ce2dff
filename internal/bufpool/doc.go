// Package bufpool is rxnet's pool of read buffers: size classes from
// 512 bytes to 64 KiB, each a bounded free list that survives garbage
// collections (a sync.Pool takes the overflow), so that a busy stream
// reuses the same buffers instead of churning the heap.
//
// A buffer handed to a consumer (a pooled Data event) is reached through
// a Ref: Release gives the buffer back once, however many copies of the
// Ref exist, because every hand-out has its own generation.
//
// Poison mode (RXNET_POISON=1 in the environment, or SetPoison in tests)
// fills every buffer given back with a pattern and never reuses it, so a
// use after Release reads garbage, and the race detector sees the
// poisoning write against a read on another goroutine.
package bufpool

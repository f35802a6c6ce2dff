package stream

import "errors"

// ErrAlreadySubscribed is what a second consumer of one transport's events
// gets: Events after an Observable subscription (as a channel holding a
// single Lost event with this error), or a second Observable subscription
// (as an rxgo error item). The first consumer keeps every event.
var ErrAlreadySubscribed = errors.New("stream: events already have a consumer")

// ErrFrameTooLarge is the error of a frame longer than its Framer's max:
// the framed stream ends with a Lost carrying it (the source is aborted
// first), SplitFunc's function returns it, and Append and WriteFrame
// return it for a frame they cannot encode within max or the length
// prefix's range.
var ErrFrameTooLarge = errors.New("stream: frame too large")

// ErrTruncatedFrame is the error of a stream that ends inside a frame
// (Delimited, LengthPrefixed): the EOF still passes, and the Lost that ends
// the framed stream carries it, joined with Lost's own error if any.
// SplitFunc's function returns it at EOF.
var ErrTruncatedFrame = errors.New("stream: truncated frame at the end of the stream")

// ErrBadFrame is what Append and WriteFrame return for a frame that would
// not read back as itself: a Lines frame holding '\n' or ending in '\r',
// a Delimited frame holding its separator.
var ErrBadFrame = errors.New("stream: frame cannot be encoded")

package stream

import "errors"

// ErrAlreadySubscribed is what a second consumer of one transport's events
// gets: Events after an Observable subscription (as a channel holding a
// single Lost event with this error), or a second Observable subscription
// (as an rxgo error item). The first consumer keeps every event.
var ErrAlreadySubscribed = errors.New("stream: events already have a consumer")

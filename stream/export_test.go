package stream

import "github.com/rxnet/rxnet/internal/bufpool"

// PooledEvent returns an event of kind k whose Data is a copy of p in a
// pooled buffer, as a transport made with WithPooledData delivers.
func PooledEvent(k Kind, p []byte) Event {
	b, data := bufpool.Copy(p)
	return withRef(Event{Kind: k, Data: data}, b.Ref())
}

package poll

// Handoff lets a callback of c block without stalling the loop: a new
// goroutine takes the loop over from the next item on (the loop keeps
// its work lists in the loop, not on a stack) with a fresh read buffer,
// and the calling goroutine, retired from the loop, finishes the
// callback and then runs after, off the loop, for as long as it likes.
// c itself must leave the loop first (Close), since its callbacks would
// otherwise run on two goroutines. It reports false, doing nothing, when
// the caller is not running one of c's callbacks on its loop. Only the
// loop goroutine may call it, from a callback or task of c.
func (c *Conn) Handoff(after func()) bool {
	l := c.l
	if !c.InLoop() || l.current != c { // current is the loop goroutine's
		return false
	}
	me := l.gen.Load()
	l.mu.Lock()
	if l.after == nil {
		l.after = make(map[uint64]func())
	}
	l.after[me] = after
	l.mu.Unlock()
	l.current = nil
	l.buf = make([]byte, BufSize) // the old one may still be read by the caller
	l.gid.Store(0)
	l.gen.Add(1)
	go l.run()
	return true
}

// retired is the end of a goroutine that a Handoff took the loop from:
// it runs what Handoff gave it.
func (l *loop) retired(me uint64) {
	l.mu.Lock()
	after := l.after[me]
	delete(l.after, me)
	l.mu.Unlock()
	if after != nil {
		after()
	}
}

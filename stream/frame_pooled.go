package stream

import "github.com/rxnet/rxnet/internal/bufpool"

// Framing pooled events (transport.WithPooledData). Once a pooled Data
// event has come, every frame is delivered in a pooled buffer of its own,
// so that a frame's Release gives back exactly that buffer, and each
// input buffer is released once no frame refers to it:
//
//   - a frame cut from one read is copied into a pooled buffer
//     (bufpool.Copy), except the last complete frame of the read, which
//     takes over the read's own buffer once the incomplete rest has been
//     copied into the pending bytes: a stream of one frame per read
//     copies nothing;
//   - the pending bytes of a frame cut across reads live in a pooled
//     buffer (pend); the frame that completes them takes it over when the
//     bytes after it all come from the new read, and is copied otherwise;
//   - a read whose buffer no frame took over is released at once, and
//     every event the framer drops (after an oversize frame, on abort,
//     once the consumer is gone) is released.
//
// None of this allocates on the heap in steady state: buffers come from
// the pool's free lists.

// dataPooled frames the Data event e, pooled or not, of a pooled stream,
// and releases e's buffer unless a frame took it over.
func (s *framing) dataPooled(e Event, emit emitFunc) (bool, error) {
	ok, took, err := s.framePooled(e.Data, e.ref, emit)
	if !took {
		e.Release()
	}
	return ok, err
}

// framePooled frames p, the bytes of the buffer ref. It holds back each
// frame found until the next one is found (then the held one is copied),
// so that the last frame of p can take ref over: it reports whether it
// did.
func (s *framing) framePooled(p []byte, ref bufpool.Ref, emit emitFunc) (more, took bool, err error) {
	if len(s.buf) > 0 {
		var ok bool
		if p, ok, err = s.complete(p, emit); !ok || err != nil || len(p) == 0 {
			return ok, false, err
		}
	}
	var last []byte // the frame held back; nil: none
	for len(p) > 0 {
		adv, tok, err := s.split(p, false)
		if err != nil {
			if !s.deliver(last, emit) {
				return false, false, nil
			}
			ok, err := s.splitErr(tok, err, emit)
			return ok, false, err
		}
		if adv == 0 && tok == nil {
			s.appendPending(p) // before the last frame goes: it may be released at once
			break
		}
		if err := s.progress(adv); err != nil {
			return true, false, err
		}
		if tok != nil {
			if !s.deliver(last, emit) {
				return false, false, nil
			}
			last = tok
		}
		p = p[adv:]
	}
	if last == nil {
		return true, false, nil
	}
	return s.deliverIn(last, ref, emit), ref.Pooled(), nil
}

// deliverIn emits tok as a frame that takes over ref, the buffer tok
// lies in (a copy when ref is not pooled).
func (s *framing) deliverIn(tok []byte, ref bufpool.Ref, emit emitFunc) bool {
	if !ref.Pooled() {
		return s.deliver(tok, emit)
	}
	if !emit(withRef(Event{Kind: Data, Data: tok[:len(tok):len(tok)]}, ref)) {
		s.gone = true
		return false
	}
	return true
}

// endPending ends the pending bytes, whose rest is the new read's: tok,
// the frame they completed (nil for none), is delivered, and takes over
// their buffer when it is pooled.
func (s *framing) endPending(tok []byte, emit emitFunc) bool {
	pend := s.pend
	s.pend, s.buf = nil, nil
	switch {
	case pend == nil:
		return s.deliver(tok, emit)
	case tok == nil:
		pend.Put()
		return true
	}
	return s.deliverIn(tok, pend.Ref(), emit)
}

// appendPending appends b to the pending bytes, in a pooled buffer: the
// same one while they fit in it (moved to its start when need be), else
// one of a larger class.
func (s *framing) appendPending(b []byte) {
	n := len(s.buf) + len(b)
	switch {
	case n <= cap(s.buf) && s.pend != nil:
	case s.pend != nil && n <= len(s.pend.Bytes()):
		s.buf = s.pend.Bytes()[:copy(s.pend.Bytes(), s.buf)]
	default:
		nb := bufpool.Get(n)
		s.buf = nb.Bytes()[:copy(nb.Bytes(), s.buf)]
		s.dropPendingBuf()
		s.pend = nb
	}
	s.buf = append(s.buf, b...)
}

// dropPending forgets the pending bytes, giving their pooled buffer back.
func (s *framing) dropPending() {
	s.buf = nil
	s.dropPendingBuf()
}

func (s *framing) dropPendingBuf() {
	if s.pend != nil {
		s.pend.Put()
		s.pend = nil
	}
}

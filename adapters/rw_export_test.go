package adapters

// ReaderRest returns what r holds of its current event (its bytes, not
// a copy), for tests that check when the event is released.
func ReaderRest(r *Reader) []byte { return r.rest }

package transport

// packetCore returns the core of a datagram endpoint, nil for anything
// else.
func packetCore(t BaseTransport) *core {
	if c, ok := t.(*packetConn); ok {
		return &c.core
	}
	return nil
}

package transport

// packetCore returns the core of a datagram endpoint, nil for anything
// else.
func packetCore(t BaseTransport) *core {
	if c, ok := t.(*packetConn); ok {
		return &c.core
	}
	return nil
}

// Pumping reports whether a pump holds one of the datagram endpoint t's
// events (conn_pump.go), for tests in package transport_test.
func Pumping(t BaseTransport) bool {
	c := packetCore(t)
	return c != nil && c.pumping.Load()
}

// FailRead ends the datagram endpoint t as a failed read does, with err
// as Lost's error: unlike a local close, it does not release the
// consumer.
func FailRead(t BaseTransport, err error) { packetCore(t).shut(err) }

// LoopRan returns a channel closed once a task posted now to the loop
// reading the datagram endpoint t has run: after every task posted
// before it. It returns nil when no loop reads t.
func LoopRan(t BaseTransport) <-chan struct{} {
	c := packetCore(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lc == nil {
		return nil
	}
	ran := make(chan struct{})
	c.lc.Post(func() { close(ran) })
	return ran
}

//go:build !linux

package transport

// packetCore returns nil: datagram endpoints are Linux only.
func packetCore(BaseTransport) *core { return nil }

package main

// The matrices other than TCP's: -udp (udp.go), -lines (rxlines.go) and
// -tls (tls.go) each select a family of modes, its default modes, its
// message sizes and its report.

import (
	"fmt"
	"io"
	"strings"
)

// matrix is a family of modes that a flag selects (-udp, -lines, -tls), with
// the sizes its messages may have.
type matrix struct {
	flag     string
	on       bool // the flag was given
	servers  map[string]serveFunc
	modes    []string
	kind     string // "UDP", "line-echo", "TLS echo"
	outside  string // what another mode is: "a TCP mode"
	item     string // what a message is: "datagram", "line"
	min, max int
	note     string // appended to the size error
}

// checkMatrix checks the modes and sizes against the kind of run: the
// matrix's modes and sizes with its flag, other modes without.
func checkMatrix(c *config, m matrix) error {
	for _, mode := range c.modes {
		_, in := m.servers[mode]
		switch {
		case in && !m.on:
			return fmt.Errorf("mode %s is a %s mode: add %s", mode, m.kind, m.flag)
		case !in && m.on:
			return fmt.Errorf("mode %s is %s; with %s the modes are %s", mode, m.outside, m.flag, strings.Join(m.modes, ", "))
		}
	}
	if !m.on {
		return nil
	}
	for _, n := range c.sizes {
		if n < m.min || n > m.max {
			return fmt.Errorf("-size %d: with %s a %s is %d to %d bytes%s", n, m.flag, m.item, m.min, m.max, m.note)
		}
	}
	return nil
}

// matrixModes returns the default modes of the matrix a flag selected
// (-udp, -lines, -tls; the first given), or nil for the TCP matrix.
func (c *config) matrixModes() []string {
	switch {
	case c.udp:
		return udpModes
	case c.lines:
		return linesModes
	case c.tls:
		return tlsModes
	}
	return nil
}

// otherMatrix returns the report of the matrix a flag selected (-udp,
// -lines, -tls), or nil for the TCP matrix.
func otherMatrix(udp, lines, tls bool) func(io.Writer, *results) {
	switch {
	case udp:
		return reportUDP
	case lines:
		return reportLines
	case tls:
		return reportTLS
	}
	return nil
}

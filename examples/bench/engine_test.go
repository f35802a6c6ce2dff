package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseEngines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"goroutine,poll", []string{"goroutine", "poll"}, ""},
		{"poll", []string{"poll"}, ""},
		{" poll , goroutine ", []string{"poll", "goroutine"}, ""},
		{"", nil, ""},
		{"epoll", nil, `unknown engine "epoll"`},
		{"poll,poll", nil, "listed twice"},
	} {
		got, err := parseEngines(tc.in)
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("parseEngines(%q) error %v, want %q", tc.in, err, tc.err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("parseEngines(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestExpandModes: every rxnet mode of every matrix runs once per engine,
// the baselines once.
func TestExpandModes(t *testing.T) {
	engines := []string{"goroutine", "poll"}
	for _, tc := range []struct {
		modes, want []string
	}{
		{[]string{"netconn", "protocol", "rw"}, []string{"netconn", "protocol/goroutine", "protocol/poll", "rw/goroutine", "rw/poll"}},
		{udpModes, []string{"udpconn", "udp-protocol/goroutine", "udp-protocol/poll", "udp-events/goroutine", "udp-events/poll", "udp-events-pooled/goroutine", "udp-events-pooled/poll"}},
		{linesModes, []string{"lines-netconn", "lines-rx/goroutine", "lines-rx/poll", "lines-chan/goroutine", "lines-chan/poll", "lines-pooled/goroutine", "lines-pooled/poll"}},
		{tlsModes, []string{"tls-netconn", "tls-protocol/goroutine", "tls-protocol/poll", "tls-events/goroutine", "tls-events/poll"}},
	} {
		if got := expandModes(tc.modes, engines); !slices.Equal(got, tc.want) {
			t.Errorf("expandModes(%q) = %q, want %q", tc.modes, got, tc.want)
		}
		if got := expandModes(tc.modes, nil); !slices.Equal(got, tc.modes) {
			t.Errorf("expandModes(%q, no engines) = %q", tc.modes, got)
		}
	}
	if got, want := floodModes([]string{"netconn", "protocol/poll", "rw/poll", "events", "events-pooled/poll", "buffered/poll"}), []string{"stalled-protocol/poll", "stalled-events", "stalled-events-pooled/poll"}; !slices.Equal(got, want) {
		t.Errorf("floodModes = %q, want %q", got, want)
	}
	cfg := config{}
	if c := cfg.child("protocol/poll"); c.mode != "protocol" || c.engine != "poll" {
		t.Errorf("child(protocol/poll) = mode %q, engine %q", c.mode, c.engine)
	}
	if c := cfg.child("netconn"); c.mode != "netconn" || c.engine != "" {
		t.Errorf("child(netconn) = mode %q, engine %q", c.mode, c.engine)
	}
}

func TestWithEngine(t *testing.T) {
	env := []string{"A=1", engineEnv + "=goroutine", "B=2"}
	if got, want := withEngine(env, "poll"), []string{"A=1", "B=2", engineEnv + "=poll"}; !slices.Equal(got, want) {
		t.Errorf("withEngine = %q, want %q", got, want)
	}
	if env[1] != engineEnv+"=goroutine" {
		t.Errorf("withEngine changed its argument: %q", env)
	}
	if got := withEngine(env, ""); !slices.Equal(got, env) {
		t.Errorf("withEngine(env, \"\") = %q, want env unchanged", got)
	}
}

// TestServerChildSeesEngine: a server child started for a mode's engine
// has RXNET_ENGINE set to it, and reports it in its stats.
func TestServerChildSeesEngine(t *testing.T) {
	for _, mode := range []string{"protocol/poll", "protocol/goroutine"} {
		cfg := config{}
		srv, err := startServer(cfg.child(mode))
		if err != nil {
			t.Fatal(err)
		}
		_, st, err := srv.stop()
		if err != nil {
			t.Fatal(err)
		}
		if _, want := splitEngine(mode); st.Engine != want {
			t.Errorf("%s: the child saw %s=%q, want %q", mode, engineEnv, st.Engine, want)
		}
	}
}

func TestReportEngines(t *testing.T) {
	res := &results{
		Runs: []runResult{{Mode: "netconn"}, {Mode: "protocol/poll", Engine: "poll"}, {Mode: "protocol/goroutine", Engine: "poll"}},
		Idle: []idleResult{{Mode: "protocol/poll", Stats: serverStats{Engine: "poll"}}},
	}
	var out strings.Builder
	reportEngines(&out, res)
	want := engineEnv + " as each server child saw it: netconn unset, protocol/poll poll, protocol/goroutine poll (**goroutine asked**)."
	if !strings.Contains(out.String(), want) {
		t.Errorf("report %q lacks %q", out.String(), want)
	}
}

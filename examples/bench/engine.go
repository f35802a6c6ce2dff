package main

// Engines as modes (issue 13). rxnet has two engines behind the readiness
// seam of internal/sock: the goroutine-per-connection one and the epoll
// poller, chosen by the environment variable RXNET_ENGINE when a
// transport is created ("goroutine" or "poll"; unset, the platform's
// default). -engines runs every rxnet mode once per engine listed, as a
// mode of its own named MODE/ENGINE (protocol/goroutine, protocol/poll),
// its server child started with RXNET_ENGINE=ENGINE in its environment.
// The baselines (netconn, udpconn, lines-netconn, tls-netconn) use no
// rxnet transport and run once, with the environment as it is. An empty
// -engines runs each mode once, as it is, its name unchanged.
//
// Every server child reports the RXNET_ENGINE it saw
// (serverStats.Engine), and the report prints it for every mode, so that
// a column's engine is what the child read, not what the parent meant.

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
)

// engineEnv is the environment variable that chooses rxnet's engine.
const engineEnv = "RXNET_ENGINE"

// knownEngines are the values -engines accepts.
var knownEngines = []string{"goroutine", "poll"}

// defaultEngines is -engines' default: both engines on Linux, where the
// poller exists; the goroutine engine alone elsewhere.
func defaultEngines() string {
	if runtime.GOOS == "linux" {
		return strings.Join(knownEngines, ",")
	}
	return "goroutine"
}

// isBaseline reports whether mode is one of the baselines, which use no
// rxnet transport and so run once, whatever -engines says.
func isBaseline(mode string) bool {
	switch mode {
	case baseline, udpBaseline, linesBaseline, tlsBaseline:
		return true
	}
	return false
}

// parseEngines parses -engines: a comma-separated list of known engines,
// each at most once; "" is none.
func parseEngines(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var engines []string
	for _, e := range splitModes(s) {
		switch {
		case !slices.Contains(knownEngines, e):
			return nil, fmt.Errorf("unknown engine %q in -engines (want some of %s)", e, strings.Join(knownEngines, ", "))
		case slices.Contains(engines, e):
			return nil, fmt.Errorf("engine %q listed twice in -engines", e)
		}
		engines = append(engines, e)
	}
	return engines, nil
}

// expandModes returns the modes a run measures, in order: each baseline
// once, each other mode once per engine, named MODE/ENGINE; without
// engines, modes unchanged.
func expandModes(modes, engines []string) []string {
	var out []string
	for _, m := range modes {
		if isBaseline(m) || len(engines) == 0 {
			out = append(out, m)
			continue
		}
		for _, e := range engines {
			out = append(out, m+"/"+e)
		}
	}
	return out
}

// splitEngine splits a measured mode's name into the server mode and the
// engine its child is started with ("" for none: the environment as it
// is).
func splitEngine(mode string) (server, engine string) {
	server, engine, _ = strings.Cut(mode, "/")
	return server, engine
}

// fileMode is a measured mode's name as part of a file name:
// protocol/poll becomes protocol-poll.
func fileMode(mode string) string { return strings.ReplaceAll(mode, "/", "-") }

// withEngine returns env (os.Environ() if nil) with RXNET_ENGINE set to
// engine, any other setting of it removed; for engine "", env unchanged.
func withEngine(env []string, engine string) []string {
	if engine == "" {
		return env
	}
	if env == nil {
		env = os.Environ()
	}
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, engineEnv+"=") })
	return append(env, engineEnv+"="+engine)
}

// seenEngine formats the RXNET_ENGINE a child reported: "unset" for
// none.
func seenEngine(v string) string {
	if v == "" {
		return "unset"
	}
	return v
}

// reportEngines prints, for every mode measured, the RXNET_ENGINE its
// server children saw (every distinct value, in the order met), and
// flags a child that saw another engine than its mode asked for.
func reportEngines(out io.Writer, res *results) {
	seen := map[string][]string{}
	var order []string
	note := func(mode, engine string) {
		if _, ok := seen[mode]; !ok {
			order = append(order, mode)
		}
		if v := seenEngine(engine); !slices.Contains(seen[mode], v) {
			seen[mode] = append(seen[mode], v)
		}
	}
	for _, r := range res.Runs {
		note(r.Mode, r.Engine)
	}
	for _, r := range res.Idle {
		note(r.Mode, r.Stats.Engine)
	}
	for _, r := range res.Flood {
		note(r.Mode, r.Stats.Engine)
	}
	if len(order) == 0 {
		return
	}
	cells := make([]string, 0, len(order))
	for _, mode := range order {
		cell := mode + " " + strings.Join(seen[mode], "/")
		if _, asked := splitEngine(mode); asked != "" && (len(seen[mode]) != 1 || seen[mode][0] != asked) {
			cell += fmt.Sprintf(" (**%s asked**)", asked)
		}
		cells = append(cells, cell)
	}
	fmt.Fprintf(out, "\n%s as each server child saw it: %s.\n", engineEnv, strings.Join(cells, ", "))
}

package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The environment variables a run reads (see ConfigFromEnv).
const (
	EnvDuration   = "RXNET_CHAOS_DURATION"   // how long to run, e.g. 30m
	EnvIterations = "RXNET_CHAOS_ITERATIONS" // at most this many iterations
	EnvSeed       = "RXNET_CHAOS_SEED"       // replay this seed only
	EnvTimeout    = "RXNET_CHAOS_TIMEOUT"    // one iteration's deadline
	EnvKinds      = "RXNET_CHAOS_KINDS"      // only these kinds, comma-separated
)

// DefaultTimeout bounds one iteration. It is a failure guard: an
// iteration that takes longer is reported as stuck; a normal one takes
// milliseconds.
const DefaultTimeout = 10 * time.Second

// replayIterations is how often a replayed seed runs by default: a seed
// fixes every choice, not the scheduler's interleaving.
const replayIterations = 200

// Config is what a run does.
type Config struct {
	Duration   time.Duration // stop starting iterations after this (0: no limit)
	Iterations int           // run at most this many (0: no limit)
	Seed       uint64        // the first seed; seeds then count up
	Replay     bool          // run Seed only, again and again
	Timeout    time.Duration // one iteration's deadline
	Kinds      []string      // run only the seeds of these kinds (nil: all)
}

// ConfigFromEnv reads the run's configuration from the environment, with
// duration as the default length and a random first seed.
func ConfigFromEnv(duration time.Duration) (Config, error) {
	cfg := Config{Duration: duration, Seed: rand.Uint64() >> 1, Timeout: DefaultTimeout}
	var err error
	if v := os.Getenv(EnvSeed); v != "" {
		if cfg.Seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			return cfg, fmt.Errorf("%s=%q: %w", EnvSeed, v, err)
		}
		cfg.Replay, cfg.Duration, cfg.Iterations = true, 0, replayIterations
	}
	if v := os.Getenv(EnvDuration); v != "" {
		if cfg.Duration, err = time.ParseDuration(v); err != nil {
			return cfg, fmt.Errorf("%s=%q: %w", EnvDuration, v, err)
		}
		if os.Getenv(EnvIterations) == "" {
			cfg.Iterations = 0
		}
	}
	if v := os.Getenv(EnvIterations); v != "" {
		if cfg.Iterations, err = strconv.Atoi(v); err != nil {
			return cfg, fmt.Errorf("%s=%q: %w", EnvIterations, v, err)
		}
		if os.Getenv(EnvDuration) == "" {
			cfg.Duration = 0
		}
	}
	if v := os.Getenv(EnvTimeout); v != "" {
		if cfg.Timeout, err = time.ParseDuration(v); err != nil {
			return cfg, fmt.Errorf("%s=%q: %w", EnvTimeout, v, err)
		}
	}
	if v := os.Getenv(EnvKinds); v != "" {
		cfg.Kinds = strings.Split(v, ",")
		for _, k := range cfg.Kinds {
			if !slices.ContainsFunc(Kinds, func(kind Kind) bool { return kind.Name == k }) {
				return cfg, fmt.Errorf("%s: no kind %q", EnvKinds, k)
			}
		}
	}
	return cfg, nil
}

// Hooks are the run's callbacks.
type Hooks struct {
	// Started is called before each iteration, so that a crash can be
	// traced to its seed.
	Started func(seed uint64, kind string)
	// Leaks is called after each iteration that passed: it returns the
	// goroutines it left behind (goleak.Find), nil for none.
	Leaks func() error
}

// Failure is an iteration that broke an invariant.
type Failure struct {
	Seed uint64
	Kind string
	Err  error
}

// Error returns the broken invariants, with the seed, the plan, the
// chain and (when stuck) the goroutines.
func (f *Failure) Error() string { return f.Err.Error() }

// Result is what a run did.
type Result struct {
	Iterations map[string]int           // per kind
	Time       map[string]time.Duration // spent per kind
	Elapsed    time.Duration
	Failure    *Failure // the first failure, which ended the run
}

// Run runs iterations as cfg says, until the first failure. Every
// iteration must leave no goroutine (hooks.Leaks) and, on Linux, no
// descriptor behind.
func Run(cfg Config, env *Env, hooks Hooks) Result {
	warmUp()
	res := Result{Iterations: map[string]int{}, Time: map[string]time.Duration{}}
	start := time.Now()
	seed := cfg.Seed
	for n := 0; cfg.Iterations == 0 || n < cfg.Iterations; seed++ {
		if cfg.Duration > 0 && time.Since(start) >= cfg.Duration {
			break
		}
		if cfg.Replay {
			seed = cfg.Seed
		}
		kind := KindOf(seed)
		if cfg.Kinds != nil && !slices.Contains(cfg.Kinds, kind.Name) {
			continue
		}
		n++
		if hooks.Started != nil {
			hooks.Started(seed, kind.Name)
		}
		t0 := time.Now()
		err := runChecked(env, seed, cfg.Timeout, hooks.Leaks)
		res.Iterations[kind.Name]++
		res.Time[kind.Name] += time.Since(t0)
		if err != nil {
			res.Failure = &Failure{Seed: seed, Kind: kind.Name, Err: err}
			break
		}
	}
	res.Elapsed = time.Since(start)
	return res
}

// runChecked runs one iteration, then checks for what it left behind.
func runChecked(env *Env, seed uint64, timeout time.Duration, leaks func() error) error {
	before := openFDs()
	if err := runIteration(env, seed, timeout); err != nil {
		return err
	}
	if leaks != nil {
		if err := leaks(); err != nil {
			return fmt.Errorf("%s seed %d: goroutines left behind (LC5): %w", KindOf(seed).Name, seed, err)
		}
	}
	if left := leftOpen(before, openFDs()); left != "" {
		return fmt.Errorf("%s seed %d: descriptors left open (LC5): %s", KindOf(seed).Name, seed, left)
	}
	return nil
}

// leftOpen describes the descriptors open in after but not in before.
func leftOpen(before, after map[int]string) string {
	if before == nil || after == nil || len(after) <= len(before) {
		return ""
	}
	var left []string
	for fd, target := range after {
		if t, ok := before[fd]; !ok || t != target {
			left = append(left, fmt.Sprintf("%d→%s", fd, target))
		}
	}
	sort.Strings(left)
	return strings.Join(left, " ")
}

// warmUp opens what the runtime opens once for good (the network
// poller), so that the first iteration is not charged for it.
func warmUp() {
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
}

// Summary formats a result's counts: iterations per kind, and how many
// per second of the time spent on that kind.
func (r Result) Summary() string {
	var b strings.Builder
	total := 0
	for _, k := range Kinds {
		n := r.Iterations[k.Name]
		total += n
		rate := 0.0
		if d := r.Time[k.Name]; d > 0 {
			rate = float64(n) / d.Seconds()
		}
		fmt.Fprintf(&b, "%s=%d (%.0f/s) ", k.Name, n, rate)
	}
	fmt.Fprintf(&b, "total=%d in %v", total, r.Elapsed.Round(time.Millisecond))
	return b.String()
}

// errBadConfig is returned for a configuration that would run forever,
// or not at all.
var errBadConfig = errors.New("chaos: set a positive " + EnvDuration + " or " + EnvIterations + ", and a positive " + EnvTimeout)

// Validate reports a configuration that would run forever or not at all.
func (c Config) Validate() error {
	if c.Timeout <= 0 || c.Duration < 0 || c.Iterations < 0 || c.Duration == 0 && c.Iterations == 0 {
		return errBadConfig
	}
	return nil
}

// Command weftgobench is the Go side of the Weft benchmarks (shared/BENCHMARKS.md): the same
// workloads written with goroutines, channels, sync.WaitGroup and sync.Mutex, printing one line
// per workload in the format of weft-bench:
//
//	<name> <param>=<value> ... [extra=value ...] ns_per_op=<float> total_ms=<float> check=OK|FAIL
//
// Usage: go run . [WORKLOAD ...] [--workers N] [key=value ...]
//
// No workload means all of them. --workers sets GOMAXPROCS (default runtime.NumCPU()).
// key=value overrides a parameter of every selected workload that has it (n=27, rounds=1000).
// A workload listed several times with different values of one parameter (lock_contention
// fibers=1,4,16,64; asyncmap work=sleep1ms,compute1us) runs once per distinct value, so
// fibers=8 or work=sleep1ms narrows it to one line. Each workload runs one untimed warm-up
// pass, then one timed pass; the check covers both. The exit status is 1 if any check fails.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type kv struct{ k, v string }

// params holds the effective parameter values of one workload.
type params map[string]string

func (p params) int(k string) int {
	n, err := strconv.Atoi(p[k])
	if err != nil || n < 0 {
		fatalf("bad value %s=%q", k, p[k])
	}
	return n
}

// result is what one pass of a workload reports: ns_per_op is elapsed/ops.
type result struct {
	elapsed time.Duration
	ops     int
	extras  []kv
	ok      bool
}

type workload struct {
	name   string
	params []kv // defaults, in the order they are printed
	run    func(p params) result
}

func allWorkloads() []workload {
	ws := []workload{
		{"spawn_many", []kv{{"n", "1000000"}}, spawnMany},
		{"skynet", []kv{{"leaves", "1000000"}}, skynet},
		{"fib27", []kv{{"n", "27"}}, fibWorkload(0)},
		{"fib30", []kv{{"n", "30"}}, fibWorkload(0)},
		{"ping_pong", []kv{{"rounds", "200000"}}, pingPong},
		{"chan_throughput", []kv{{"producers", "4"}, {"consumers", "4"}, {"capacity", "1024"}, {"items", "2000000"}}, chanThroughput},
		{"yield_many", []kv{{"fibers", "200"}, {"yields", "1000"}}, yieldMany},
		{"chained_spawn", []kv{{"depth", "1000"}, {"repeats", "100"}}, chainedSpawn},
		{"many_waiters_memory", []kv{{"n", "100000"}}, manyWaiters},
		{"fork_join_1w", []kv{{"n", "30"}}, fibWorkload(1)},
		{"fork_join_2w", []kv{{"n", "30"}}, fibWorkload(2)},
	}
	for _, f := range []string{"1", "4", "16", "64"} {
		ws = append(ws, workload{"lock_contention", []kv{{"fibers", f}, {"iters", "100000"}}, lockContention})
	}
	ws = append(ws, workload{"event_ping_pong", []kv{{"rounds", "200000"}}, eventPingPong})
	for _, w := range []string{"sleep1ms", "compute1us"} {
		ws = append(ws, workload{"asyncmap", []kv{{"work", w}, {"n", "10000"}, {"ntasks", "100"}}, asyncMap})
	}
	ws = append(ws,
		workload{"echo_rtt", []kv{{"conns", "1"}, {"rounds", "100000"}, {"size", "64"}}, echoRTT},
		workload{"echo_concurrent", []kv{{"conns", "1000"}, {"rounds", "100"}, {"size", "64"}}, echoConcurrent},
		workload{"echo_stream", []kv{{"conns", "4"}, {"messages", "50000"}, {"size", "512"}}, echoStream},
		workload{"io_wake_latency", []kv{{"busy", "all"}, {"rounds", "200"}, {"interval_us", "2000"}}, ioWakeLatency(true)},
		workload{"io_wake_latency", []kv{{"busy", "all-but-one"}, {"rounds", "200"}, {"interval_us", "2000"}}, ioWakeLatency(false)},
	)
	return ws
}

// maxProcs is GOMAXPROCS as set by --workers.
func maxProcs() int { return runtime.GOMAXPROCS(0) }

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "weftgobench: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	workers := runtime.NumCPU()
	var names []string
	overrides := map[string]string{}
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--workers" && i+1 < len(args):
			i++
			a = "--workers=" + args[i]
			fallthrough
		case strings.HasPrefix(a, "--workers="):
			n, err := strconv.Atoi(strings.TrimPrefix(a, "--workers="))
			if err != nil || n < 1 {
				fatalf("bad --workers value in %q", a)
			}
			workers = n
		case a == "-h" || a == "--help":
			fmt.Println("usage: weftgobench [WORKLOAD ...] [--workers N] [key=value ...]")
			os.Exit(0)
		case strings.HasPrefix(a, "-"):
			fatalf("unknown option %q", a)
		case strings.Contains(a, "="):
			k, v, _ := strings.Cut(a, "=")
			overrides[k] = v
		default:
			names = append(names, a)
		}
	}
	runtime.GOMAXPROCS(workers)

	// Select (in command-line order), apply overrides, drop duplicates.
	all := allWorkloads()
	var selected []workload
	if len(names) == 0 {
		selected = all
	}
	for _, n := range names {
		found := false
		for _, w := range all {
			if w.name == n {
				selected, found = append(selected, w), true
			}
		}
		if !found {
			fatalf("unknown workload %q", n)
		}
	}
	used := map[string]bool{}
	seen := map[string]bool{}
	failed := false
	for _, w := range selected {
		p := params{}
		label := w.name
		for _, d := range w.params {
			p[d.k] = d.v
			if v, ok := overrides[d.k]; ok {
				p[d.k] = v
				used[d.k] = true
			}
			label += " " + d.k + "=" + p[d.k]
		}
		if seen[label] {
			continue
		}
		seen[label] = true

		warm := w.run(p)
		r := w.run(p)
		ok := warm.ok && r.ok
		failed = failed || !ok
		line := label
		for _, e := range r.extras {
			line += " " + e.k + "=" + e.v
		}
		check := "OK"
		if !ok {
			check = "FAIL"
		}
		nsPerOp := float64(r.elapsed.Nanoseconds()) / float64(max(r.ops, 1))
		fmt.Printf("%s ns_per_op=%.2f total_ms=%.3f check=%s\n", line, nsPerOp,
			float64(r.elapsed.Nanoseconds())/1e6, check)
	}
	for k := range overrides {
		if !used[k] {
			fmt.Fprintf(os.Stderr, "weftgobench: warning: no selected workload has parameter %q\n", k)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

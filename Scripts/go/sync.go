package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// lock_contention: fibers goroutines each lock and unlock one sync.Mutex iters times,
// incrementing a shared counter inside.
func lockContention(p params) result {
	fibers, iters := p.int("fibers"), p.int("iters")
	var mu sync.Mutex
	counter := 0
	var wg sync.WaitGroup
	wg.Add(fibers)
	start := time.Now()
	for i := 0; i < fibers; i++ {
		go func() {
			for k := 0; k < iters; k++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return result{elapsed, fibers * iters, nil, counter == fibers*iters}
}

// procStatusKB reads a "Vm...:  <n> kB" field of /proc/self/status (-1 if absent).
func procStatusKB(field string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, field+":") {
			rest := strings.TrimSpace(strings.TrimPrefix(line, field+":"))
			n, err := strconv.Atoi(strings.TrimSuffix(rest, " kB"))
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// many_waiters_memory: n goroutines block on one shared event (a channel that is closed);
// once all have started and are parking, read the peak RSS. The time is spawn+park plus
// release+finish, without the /proc reads.
//
// Go never frees goroutine descriptors (g structs): after the warm-up pass (or any earlier
// workload with as many live goroutines) they are reused and are already in the base RSS, so
// the timed pass reports about 2.2 KB per goroutine (mostly the 2 KB stack); the first pass in
// a fresh process (gobench many_waiters_memory) counts about 2.7 KB.
func manyWaiters(p params) result {
	n := p.int("n")
	debug.FreeOSMemory() // return what earlier workloads left, so the base is honest
	// Reset VmHWM to the current RSS (Linux >= 4.0); if that fails, use RSS when all are parked.
	hwmReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	base := procStatusKB("VmRSS")

	release := make(chan struct{})
	var parked, finished sync.WaitGroup
	var woke atomic.Int64
	parked.Add(n)
	finished.Add(n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			parked.Done()
			<-release
			woke.Add(1)
			finished.Done()
		}()
	}
	parked.Wait()
	spawnPark := time.Since(start)
	peak := procStatusKB("VmRSS")
	if hwmReset {
		peak = procStatusKB("VmHWM")
	}
	start = time.Now()
	close(release)
	finished.Wait()
	elapsed := spawnPark + time.Since(start)

	perTask := float64(peak-base) * 1024 / float64(max(n, 1))
	return result{elapsed, n, []kv{
		{"bytes_per_task", fmt.Sprintf("%.0f", perTask)},
		{"base_rss_kb", strconv.Itoa(base)},
		{"peak_rss_kb", strconv.Itoa(peak)},
	}, woke.Load() == int64(n) && base > 0}
}

// computeIters xorshift64 steps take about 1 µs (calibrated on a 2-core AMD EPYC VM).
// The Swift side must use the same function and count.
const computeIters = 600

func compute1us(i int) uint64 {
	x := uint64(i) + 1
	for k := 0; k < computeIters; k++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// asyncmap: map f over 0..n-1 with ntasks concurrent workers pulling indices from a
// channel; results land in input order. work=sleep1ms: f sleeps 1 ms and returns 2i;
// work=compute1us: f is compute1us.
func asyncMap(p params) result {
	n, ntasks := p.int("n"), p.int("ntasks")
	var f func(i int) uint64
	switch p["work"] {
	case "sleep1ms":
		f = func(i int) uint64 { time.Sleep(time.Millisecond); return uint64(2 * i) }
	case "compute1us":
		f = compute1us
	default:
		fatalf("asyncmap: unknown work=%q (sleep1ms or compute1us)", p["work"])
	}
	out := make([]uint64, n)
	var wg sync.WaitGroup
	wg.Add(ntasks)
	start := time.Now()
	indices := make(chan int, ntasks)
	go func() {
		for i := 0; i < n; i++ {
			indices <- i
		}
		close(indices)
	}()
	for t := 0; t < ntasks; t++ {
		go func() {
			for i := range indices {
				out[i] = f(i)
			}
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	ok := ntasks > 0
	for i, v := range out {
		if p["work"] == "sleep1ms" {
			ok = ok && v == uint64(2*i)
		} else {
			ok = ok && v == compute1us(i)
		}
	}
	return result{elapsed, n, nil, ok}
}

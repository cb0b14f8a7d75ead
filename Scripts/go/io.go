package main

// The I/O workloads of Weft's issue 10, written with Go's net package: an in-process echo
// server with a goroutine per connection on loopback, clients in the same process.

import (
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func startEchoServer() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatalf("listen: %v", err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetNoDelay(true)
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 64*1024)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}(c)
		}
	}()
	return l
}

func percentileMicros(xs []time.Duration, p float64) string {
	if len(xs) == 0 {
		return "0"
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	i := int(float64(len(xs)) * p)
	if i >= len(xs) {
		i = len(xs) - 1
	}
	return fmt.Sprintf("%.2f", float64(xs[i].Nanoseconds())/1000)
}

func echoRoundTrips(conns, rounds, size int) (bool, []time.Duration) {
	l := startEchoServer()
	defer l.Close()
	addr := l.Addr().String()
	var mu sync.Mutex
	var all []time.Duration
	ok := true
	var wg sync.WaitGroup
	for k := 0; k < conns; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 60*time.Second)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				mu.Lock()
				ok = false
				mu.Unlock()
				return
			}
			defer c.Close()
			c.(*net.TCPConn).SetNoDelay(true)
			msg := make([]byte, size)
			back := make([]byte, size)
			lat := make([]time.Duration, 0, rounds)
			good := true
			for i := 0; i < rounds; i++ {
				msg[0] = byte(i)
				t0 := time.Now()
				if _, err := c.Write(msg); err != nil {
					good = false
					break
				}
				if _, err := io.ReadFull(c, back); err != nil {
					good = false
					break
				}
				lat = append(lat, time.Since(t0))
				if back[0] != msg[0] {
					good = false
				}
			}
			mu.Lock()
			ok = ok && good
			all = append(all, lat...)
			mu.Unlock()
		}(k)
	}
	wg.Wait()
	return ok, all
}

func echoRTT(p params) result {
	rounds, size := p.int("rounds"), p.int("size")
	t0 := time.Now()
	ok, lat := echoRoundTrips(1, rounds, size)
	el := time.Since(t0)
	return result{el, rounds, []kv{{"p50_us", percentileMicros(lat, 0.5)}, {"p99_us", percentileMicros(lat, 0.99)}}, ok && len(lat) == rounds}
}

func echoConcurrent(p params) result {
	conns, rounds, size := p.int("conns"), p.int("rounds"), p.int("size")
	t0 := time.Now()
	ok, lat := echoRoundTrips(conns, rounds, size)
	el := time.Since(t0)
	return result{el, conns * rounds, []kv{{"p50_us", percentileMicros(lat, 0.5)}, {"p99_us", percentileMicros(lat, 0.99)}}, ok && len(lat) == conns*rounds}
}

func echoStream(p params) result {
	conns, messages, size := p.int("conns"), p.int("messages"), p.int("size")
	t0 := time.Now()
	l := startEchoServer()
	addr := l.Addr().String()
	var wg sync.WaitGroup
	var bad int32
	for k := 0; k < conns; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				atomic.StoreInt32(&bad, 1)
				return
			}
			defer c.Close()
			msg := make([]byte, size)
			for i := range msg {
				msg[i] = byte(k)
			}
			go func() {
				for i := 0; i < messages; i++ {
					if _, err := c.Write(msg); err != nil {
						return
					}
				}
			}()
			buf := make([]byte, 64*1024)
			total := 0
			for total < messages*size {
				n, err := c.Read(buf)
				if err != nil {
					atomic.StoreInt32(&bad, 1)
					return
				}
				if buf[0] != byte(k) || buf[n-1] != byte(k) {
					atomic.StoreInt32(&bad, 1)
				}
				total += n
			}
		}(k)
	}
	wg.Wait()
	l.Close()
	el := time.Since(t0)
	mb := float64(conns*messages*size) / 1e6
	return result{el, conns * messages, []kv{{"mb_per_s", fmt.Sprintf("%.2f", mb/el.Seconds())}}, bad == 0}
}

// ioWakeLatency: a goroutine writes a byte to a pipe every ~2 ms; another reads it and records
// the latency while busy goroutines spin (Go preempts them; Weft's spinners call yield()).
func ioWakeLatency(busyAll bool) func(p params) result {
	return func(p params) result {
		rounds := p.int("rounds")
		interval := time.Duration(p.int("interval_us")) * time.Microsecond
		workers := maxProcs()
		busy := workers
		if !busyAll {
			busy = workers - 1
		}
		r, w, err := os.Pipe()
		if err != nil {
			fatalf("pipe: %v", err)
		}
		defer r.Close()
		defer w.Close()
		var stop int32
		var wg sync.WaitGroup
		for i := 0; i < busy; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for atomic.LoadInt32(&stop) == 0 {
				}
			}()
		}
		var sent int64
		go func() {
			for i := 0; i < rounds; i++ {
				time.Sleep(interval)
				atomic.StoreInt64(&sent, time.Now().UnixNano())
				w.Write([]byte{1})
			}
		}()
		t0 := time.Now()
		lat := make([]time.Duration, 0, rounds)
		b := make([]byte, 1)
		for i := 0; i < rounds; i++ {
			if _, err := r.Read(b); err != nil {
				break
			}
			lat = append(lat, time.Duration(time.Now().UnixNano()-atomic.LoadInt64(&sent)))
		}
		el := time.Since(t0)
		atomic.StoreInt32(&stop, 1)
		wg.Wait()
		return result{el, len(lat), []kv{{"p50_us", percentileMicros(lat, 0.5)}, {"p99_us", percentileMicros(lat, 0.99)}}, len(lat) == rounds}
	}
}

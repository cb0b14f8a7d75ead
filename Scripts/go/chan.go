package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// ping_pong: two goroutines pass a counter back and forth over two unbuffered channels.
func pingPong(p params) result {
	rounds := p.int("rounds")
	ping, pong := make(chan int), make(chan int)
	final := make(chan int)
	start := time.Now()
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	go func() {
		v := 0
		for i := 0; i < rounds; i++ {
			ping <- v
			v = <-pong
		}
		close(ping)
		final <- v
	}()
	v := <-final
	elapsed := time.Since(start)
	return result{elapsed, rounds, nil, v == rounds}
}

// event is Go's nearest to an auto-reset event: notify sets it (at most one pending
// notification), wait blocks until it is set and clears it.
type event chan struct{}

func newEvent() event { return make(event, 1) }

func (e event) notify() {
	select {
	case e <- struct{}{}:
	default:
	}
}

func (e event) wait() { <-e }

// event_ping_pong: two goroutines alternate through two auto-reset events.
func eventPingPong(p params) result {
	rounds := p.int("rounds")
	a, b := newEvent(), newEvent()
	count := 0
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	go func() {
		for i := 0; i < rounds; i++ {
			a.notify()
			b.wait()
		}
		wg.Done()
	}()
	go func() {
		for i := 0; i < rounds; i++ {
			a.wait()
			count++
			b.notify()
		}
		wg.Done()
	}()
	wg.Wait()
	elapsed := time.Since(start)
	return result{elapsed, rounds, nil, count == rounds}
}

// chan_throughput: producers send 0..items-1 (split in ranges) on one buffered channel,
// consumers sum what they receive.
func chanThroughput(p params) result {
	producers, consumers := p.int("producers"), p.int("consumers")
	capacity, items := p.int("capacity"), p.int("items")
	ch := make(chan int, capacity)
	sums := make([]int, consumers)
	var pw, cw sync.WaitGroup
	pw.Add(producers)
	cw.Add(consumers)
	start := time.Now()
	for i := 0; i < producers; i++ {
		go func(lo, hi int) {
			for v := lo; v < hi; v++ {
				ch <- v
			}
			pw.Done()
		}(i*items/producers, (i+1)*items/producers)
	}
	for i := 0; i < consumers; i++ {
		go func(i int) {
			s := 0
			for v := range ch {
				s += v
			}
			sums[i] = s
			cw.Done()
		}(i)
	}
	pw.Wait()
	close(ch)
	cw.Wait()
	elapsed := time.Since(start)
	total := 0
	for _, s := range sums {
		total += s
	}
	perSec := float64(items) / elapsed.Seconds()
	return result{elapsed, items, []kv{{"items_per_s", fmt.Sprintf("%.0f", perSec)}},
		producers > 0 && consumers > 0 && total == items*(items-1)/2}
}

// yield_many: fibers goroutines each call runtime.Gosched() yields times.
func yieldMany(p params) result {
	fibers, yields := p.int("fibers"), p.int("yields")
	var done atomic.Int64
	var wg sync.WaitGroup
	wg.Add(fibers)
	start := time.Now()
	for i := 0; i < fibers; i++ {
		go func() {
			k := 0
			for ; k < yields; k++ {
				runtime.Gosched()
			}
			done.Add(int64(k))
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return result{elapsed, fibers * yields, nil, done.Load() == int64(fibers*yields)}
}

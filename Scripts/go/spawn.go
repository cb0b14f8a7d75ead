package main

import (
	"runtime"
	"strconv"
	"sync"
	"time"
)

// spawn_many: spawn n goroutines that each mark themselves as run, wait for all.
func spawnMany(p params) result {
	n := p.int("n")
	ran := make([]bool, n)
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			ran[i] = true
			wg.Done()
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	ok := true
	for _, r := range ran {
		ok = ok && r
	}
	return result{elapsed, n, nil, ok}
}

// skynet: every node spawns 10 children until size 1; a leaf sends its ordinal, a parent
// sends the sum it received from its children over a channel of capacity 10.
func skynetNode(out chan<- int, num, size int) {
	if size == 1 {
		out <- num
		return
	}
	children := make(chan int, 10)
	sub := size / 10
	for i := 0; i < 10; i++ {
		go skynetNode(children, num+i*sub, sub)
	}
	sum := 0
	for i := 0; i < 10; i++ {
		sum += <-children
	}
	out <- sum
}

func skynet(p params) result {
	leaves := p.int("leaves")
	nodes := 0 // 1 + 10 + ... + leaves (1,111,111 for 1M leaves)
	for s := leaves; s >= 1; s /= 10 {
		nodes += leaves / s
	}
	out := make(chan int, 1)
	start := time.Now()
	go skynetNode(out, 0, leaves)
	sum := <-out
	elapsed := time.Since(start)
	pow10 := leaves > 0
	for s := leaves; s > 1; s /= 10 {
		pow10 = pow10 && s%10 == 0
	}
	return result{elapsed, nodes, nil, pow10 && sum == leaves*(leaves-1)/2}
}

// fib: fib(n-1) runs in a new goroutine that returns through a channel, fib(n-2) inline.
func fib(n int) int {
	if n < 2 {
		return n
	}
	c := make(chan int, 1)
	go func() { c <- fib(n - 1) }()
	b := fib(n - 2)
	return <-c + b
}

func fibSeq(n int) int {
	a, b := 0, 1
	for i := 0; i < n; i++ {
		a, b = b, a+b
	}
	return a
}

// fibWorkload runs fib(n) with GOMAXPROCS=procs (0: leave it as --workers set it).
// fib(n) spawns fib(n+1)-1 goroutines.
func fibWorkload(procs int) func(params) result {
	return func(p params) result {
		if procs > 0 {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		}
		n := p.int("n")
		if n > 40 {
			fatalf("n=%d is too large for fib (spawns grow like fib(n)); use n <= 40", n)
		}
		spawns := fibSeq(n+1) - 1
		start := time.Now()
		v := fib(n)
		elapsed := time.Since(start)
		return result{elapsed, spawns, []kv{{"spawns", strconv.Itoa(spawns)}}, v == fibSeq(n)}
	}
}

// chained_spawn: link k spawns link k+1 and ends; link depth reports on done.
func chainLink(k, depth int, done chan<- int) {
	if k == depth {
		done <- k
		return
	}
	go chainLink(k+1, depth, done)
}

func chainedSpawn(p params) result {
	depth, repeats := p.int("depth"), p.int("repeats")
	done := make(chan int)
	ok := depth > 0
	start := time.Now()
	for r := 0; r < repeats; r++ {
		go chainLink(1, depth, done)
		ok = ok && <-done == depth
	}
	elapsed := time.Since(start)
	return result{elapsed, depth * repeats, nil, ok}
}

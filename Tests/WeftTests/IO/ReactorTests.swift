#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Weft

/// A non-blocking pipe whose two ends are registered with the current scheduler's reactor.
private func makePipe() throws -> (IODescriptor, IODescriptor) {
  var fds: [Int32] = [0, 0]
  #expect(pipe(&fds) == 0)
  for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
  return (try IODescriptor(fd: fds[0]), try IODescriptor(fd: fds[1]))
}

private func readByte(_ d: IODescriptor, timeout: Duration? = nil) throws -> Int {
  var b: UInt8 = 0
  let deadline = try ioDeadline(timeout, "test.read")
  let n = try d.perform(.read, "test.read", timeout: timeout, deadline: deadline) { fd in
    let n = read(fd, &b, 1)
    return (n, n < 0 ? currentErrno() : 0)
  }
  return n == 0 ? -1 : Int(b)
}

private func writeByte(_ d: IODescriptor, _ v: UInt8) throws {
  var b = v
  _ = try d.perform(.write, "test.write", timeout: nil, deadline: nil) { fd in
    let n = write(fd, &b, 1)
    return (n, n < 0 ? currentErrno() : 0)
  }
}

@Suite struct ReactorTests {
  /// A reader parks on an empty pipe; the write wakes it (S2), byte after byte, in order.
  @Test func pipePingPongLosesNothing() throws {
    let rounds = underTSan ? 300 : 3_000
    let sum = try onScheduler(threads: 2) { () -> Int in
      let (r, w) = try makePipe()
      let (r2, w2) = try makePipe()
      let echo = spawn { () throws -> Void in
        while true {
          let v = try readByte(r)
          if v < 0 { return }
          try writeByte(w2, UInt8(v))
        }
      }
      var total = 0
      for i in 0..<rounds {
        try writeByte(w, UInt8(i & 0xFF))
        let v = try readByte(r2)
        #expect(v == i & 0xFF)
        total += v
      }
      w.close()
      try echo.wait()
      r.close(); r2.close(); w2.close()
      return total
    }
    #expect(sum == (0..<rounds).reduce(0) { $0 + ($1 & 0xFF) })
  }

  /// Closing a descriptor wakes the fiber blocked on it with IOError.closed (D2).
  @Test func closeWakesBlockedReader() throws {
    try onScheduler(threads: 2) {
      let (r, w) = try makePipe()
      let reader = spawn { () throws -> Int in try readByte(r) }
      while r.reactor.hasWaiters == false { yield() }
      r.close()
      #expect { try reader.fetch() } throws: { ($0 as? TaskFailedError)?.rootCause as? IOError == IOError.closed("test.read") }
      #expect(throws: IOError.self) { try readByte(r) }
      w.close()
    }
  }

  /// A timeout ends an I/O wait with TimeoutError; the descriptor still works afterwards.
  @Test func readTimesOut() throws {
    try onScheduler(threads: 2) {
      let (r, w) = try makePipe()
      #expect(throws: TimeoutError.self) { try readByte(r, timeout: .milliseconds(20)) }
      try writeByte(w, 7)
      #expect(try readByte(r, timeout: .seconds(30)) == 7)
      r.close(); w.close()
    }
  }

  /// cancel() and schedule(_:error:) interrupt a fiber blocked on I/O (WaitSite.tryUnlink).
  @Test func cancelAndInterruptBlockedReader() throws {
    struct Boom: Error, Equatable {}
    try onScheduler(threads: 2) {
      let (r, w) = try makePipe()
      let a = spawn { () throws -> Int in try readByte(r) }
      while !r.reactor.hasWaiters { yield() }
      a.cancel()
      #expect { try a.fetch() } throws: { ($0 as? TaskFailedError)?.rootCause is CancellationError }
      let b = spawn { () throws -> Int in try readByte(r) }
      while !r.reactor.hasWaiters { yield() }
      schedule(b, error: Boom())
      #expect { try b.fetch() } throws: { ($0 as? TaskFailedError)?.rootCause is Boom }
      // The slot is empty again: a later reader gets the byte.
      try writeByte(w, 9)
      #expect(try readByte(r) == 9)
      r.close(); w.close()
    }
  }

  /// P5: a parking worker leaves the blocking role to another worker that polled within the
  /// window, and only to another one: not to itself, not to the monitor, not after the window.
  @Test func aParkingWorkerDefersOnlyToAnotherWorkerPollingHot() throws {
    try onScheduler(threads: 1) {
      let (r, w) = try makePipe()
      let reactor = r.reactor
      #expect(reactor.tryAcquire(Reactor.polling))
      reactor.releaseRole(by: 0)
      let t = reactor.lastPollTime
      #expect(reactor.anotherWorkerPollsHot(me: 1, now: t + 1))
      #expect(!reactor.anotherWorkerPollsHot(me: 0, now: t + 1), "its own poll is no reason to wait")
      #expect(!reactor.anotherWorkerPollsHot(me: 1, now: t + Reactor.hotPollWindow), "the window is over")
      #expect(reactor.tryAcquire(Reactor.polling))
      reactor.releaseRole(by: nil)
      #expect(!reactor.anotherWorkerPollsHot(me: 1, now: reactor.lastPollTime + 1), "the monitor polls only now and then")
      r.close(); w.close()
    }
  }

  /// P5: a fiber that starts an I/O wait kicks a parked worker only when its own worker has
  /// other fibers queued; with nothing queued, that worker polls next itself.
  @Test func aWorkerWithNothingQueuedPollsNextItself() throws {
    try onScheduler(threads: 1) {
      let idle = Worker.withCurrent { $0.hasNothingQueued }
      #expect(idle)
      let f = spawn { }  // queued on this worker's deque until this fiber waits
      let busy = Worker.withCurrent { $0.hasNothingQueued }
      #expect(!busy)
      try f.wait()
      let again = Worker.withCurrent { $0.hasNothingQueued }
      #expect(again)
    }
  }

  /// P4: with the only worker busy (yielding, never idle), the monitor polls, so a read
  /// completes; a plain thread writes.
  @Test func monitorCompletesReadWhileWorkerIsBusy() throws {
    try onScheduler(threads: 1) {
      let (r, w) = try makePipe()
      let done = Counter()
      let reader = spawn { () throws -> Int in
        defer { done.store(1) }
        return try readByte(r)
      }
      while !r.reactor.hasWaiters { yield() }
      let writer = JoinableThread { try? writeByte(w, 42) }
      while done.value == 0 { yield() }  // busy: this worker never parks
      writer.join()
      #expect(try reader.fetch() == 42)
      r.close(); w.close()
    }
  }

  /// Timers and I/O share the blocking poller's wait: a sleep ends while a fiber waits on I/O
  /// and every worker is idle.
  @Test func sleepEndsWhileFiberWaitsOnIO() throws {
    try onScheduler(threads: 2) {
      let (r, w) = try makePipe()
      let reader = spawn { () throws -> Int in try readByte(r) }
      while !r.reactor.hasWaiters { yield() }
      try sleep(for: .milliseconds(5))
      try writeByte(w, 1)
      #expect(try reader.fetch() == 1)
      r.close(); w.close()
    }
  }

  /// A thread that is not a worker blocks on I/O through its thread fiber.
  @Test func nonWorkerThreadReads() throws {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let (r, w) = try s.spawn { try makePipe() }.fetch()
      let writer = s.spawn { () throws -> Void in try writeByte(w, 5) }
      #expect(try readByte(r) == 5)
      try writer.wait()
      r.close(); w.close()
    }
  }

  /// Descriptors are released after close (P3): the reactor's count returns to 0.
  @Test func closedDescriptorsAreReleased() throws {
    try onScheduler(threads: 2) {
      let reactor = try Scheduler.current.io.reactor()
      for _ in 0..<200 {
        let (r, w) = try makePipe()
        try writeByte(w, 1)
        #expect(try readByte(r) == 1)
        r.close(); w.close()
      }
      // Released by the next polls: make a few happen.
      let (r, w) = try makePipe()
      for i in 0..<20 {
        let reader = spawn { () throws -> Int in try readByte(r) }
        while !r.reactor.hasWaiters { yield() }
        try writeByte(w, UInt8(i))
        _ = try reader.fetch()
      }
      #expect(reactor.liveDescriptors <= 2 + 2)
      r.close(); w.close()
    }
  }

  /// blocking { }: runs on the pool while the fiber parks; results and errors come back.
  @Test func blockingPoolRunsOffWorker() throws {
    struct Bad: Error {}
    try onScheduler(threads: 1) {
      let fibers = (0..<8).map { i in spawn { () throws -> Int in
        try blocking { () -> Int in
          #expect(Worker.current == nil)
          usleep(1000)  // a blocking call: the worker runs the other fibers meanwhile
          return i
        }
      } }
      let results = try fibers.map { try $0.fetch() }
      #expect(results == Array(0..<8))
      #expect(throws: Bad.self) { try blocking { () throws -> Int in throw Bad() } }
    }
  }
}

import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The failures of one scenario: the first messages (printed in the summary) and a count.
/// With `--trap`, the first failure stops the program where it was detected.
final class Failures: Sendable {
  private let state = Locked<(messages: [String], count: Int)>(([], 0))
  let trap: Bool

  init(trap: Bool) { self.trap = trap }

  func record(_ message: String) {
    if trap { fatalError("weft-stress: \(message) (--trap)") }
    state.withLock { s in
      s.count += 1
      if s.messages.count < 12 { s.messages.append(message) }
    }
  }

  var count: Int { state.withLock { $0.count } }
  var messages: [String] { state.withLock { $0.messages } }
  var isEmpty: Bool { count == 0 }
}

/// A counter shared by fibers (operations done, invariants checked).
final class Tally: Sendable {
  private let value = Atomic<Int>(0)
  init() {}
  @inline(__always) func add(_ n: Int = 1) { value.wrappingAdd(n, ordering: .relaxed) }
  var total: Int { value.load(ordering: .relaxed) }
  /// Adds 1 and returns the new value.
  @inline(__always) func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).newValue }
}

/// The progress counter every scenario bumps; the watchdog fires when it stops moving.
enum Progress {
  static let counter = Atomic<Int>(0)
  @inline(__always) static func bump(_ n: Int = 1) { counter.wrappingAdd(n, ordering: .relaxed) }
  static var value: Int { counter.load(ordering: .relaxed) }
}

/// A flag set once by one thread or fiber and read by others.
final class Flag: Sendable {
  private let value = Atomic<Bool>(false)
  init() {}
  func set() { value.store(true, ordering: .releasing) }
  var isSet: Bool { value.load(ordering: .acquiring) }
}

/// A `Sendable` box for a value written by one fiber and read after joining it.
final class Box<T>: @unchecked Sendable {
  // SAFETY: written before a join (fetch/wait, which orders it) and read after.
  var value: T
  init(_ value: T) { self.value = value }
}

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC, the clock Weft's timers use).
func nowNanoseconds() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func nowSeconds() -> Double { Double(nowNanoseconds()) / 1e9 }

/// Gives free heap memory back to the kernel (glibc's `malloc_trim(0)`, looked up at run
/// time; a no-op elsewhere), so that a resident-set reading that follows counts memory in
/// use, not memory freed and kept in the allocator's free lists (which would hide a leak
/// until the free lists ran dry).
func releaseFreeHeap() {
  typealias Trim = @convention(c) (Int) -> Int32
  guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }  // RTLD_DEFAULT
  _ = unsafeBitCast(sym, to: Trim.self)(0)
}

/// Resident set size of this process in KiB (/proc/self/statm).
func residentKiB() -> Int {
  guard let f = fopen("/proc/self/statm", "r") else { return 0 }
  defer { fclose(f) }
  var size = 0, resident = 0
  guard withUnsafeMutablePointer(to: &size, { s in
    withUnsafeMutablePointer(to: &resident) { r in readTwo(f, s, r) }
  }) else { return 0 }
  return resident * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
}

private func readTwo(_ f: UnsafeMutablePointer<FILE>, _ a: UnsafeMutablePointer<Int>, _ b: UnsafeMutablePointer<Int>) -> Bool {
  var buf = [CChar](repeating: 0, count: 128)
  guard fgets(&buf, 128, f) != nil else { return false }
  let text = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  let parts = text.split(separator: " ")
  guard parts.count >= 2, let x = Int(parts[0]), let y = Int(parts[1]) else { return false }
  a.pointee = x
  b.pointee = y
  return true
}

/// Writes to standard error in one call (unbuffered), for the watchdog and failures.
func printError(_ text: String) {
  var t = text + "\n"
  t.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}

/// Flushes standard output (summary lines appear as each scenario ends, also when piped).
func flushOutput() { fflush(nil) }  // nil: every output stream (stdout is a C global)

/// 1234567 → "1,234,567".
func grouped(_ n: Int) -> String {
  let s = String(n.magnitude)
  var out = ""
  for (i, c) in s.enumerated() {
    if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
    out.append(c)
  }
  return (n < 0 ? "-" : "") + out
}

/// A rate with a unit: "3.21 M/s".
func rate(_ perSecond: Double) -> String {
  if perSecond >= 1e6 { return fixed(perSecond / 1e6, 2) + " M/s" }
  if perSecond >= 1e3 { return fixed(perSecond / 1e3, 1) + " k/s" }
  return fixed(perSecond, 0) + " /s"
}

func fixed(_ x: Double, _ digits: Int) -> String {
  var p = 1.0
  for _ in 0..<digits { p *= 10 }
  let r = (x * p).rounded() / p
  if digits == 0 { return String(Int(r)) }
  var s = String(r)
  if let dot = s.firstIndex(of: ".") {
    let have = s.distance(from: dot, to: s.endIndex) - 1
    if have < digits { s += String(repeating: "0", count: digits - have) }
  }
  return s
}

func mebibytes(_ kib: Int) -> String { fixed(Double(kib) / 1024, 1) + " MiB" }

/// Starts a detached OS thread (not a Weft worker) running `body`.
func startThread(_ body: @escaping @Sendable () -> Void) {
  final class Start: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
  var t = pthread_t()
  let box = Unmanaged.passRetained(Start(body)).toOpaque()
  let rc = pthread_create(&t, nil, { arg in
    let start = Unmanaged<Start>.fromOpaque(arg!).takeRetainedValue()
    start.body()
    return nil
  }, box)
  precondition(rc == 0, "weft-stress: pthread_create failed (\(rc))")
  pthread_detach(t)
}

/// An atomic integer shared by fibers (a class, so escaping closures can capture it).
final class SharedInt: Sendable {
  private let value: Atomic<Int>
  init(_ v: Int) { value = Atomic(v) }
  func load() -> Int { value.load(ordering: .acquiring) }
  func store(_ v: Int) { value.store(v, ordering: .releasing) }
  /// Adds `n` (acquire-release) and returns the new value.
  @discardableResult func add(_ n: Int) -> Int { value.wrappingAdd(n, ordering: .acquiringAndReleasing).newValue }
  /// Stores `new` if the value is `expected` (acquire-release); true when it did.
  func compareExchange(_ expected: Int, _ new: Int) -> Bool {
    value.compareExchange(expected: expected, desired: new, ordering: .acquiringAndReleasing).exchanged
  }
}

/// `s` padded with spaces to `width` characters.
func padded(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }

/// Runs `body(i)` for i in 0..<count, each on its own new OS thread (not a Weft worker), and
/// returns when all have finished (pthread_join).
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
  final class Start: @unchecked Sendable {
    let body: @Sendable (Int) -> Void
    let index: Int
    init(_ b: @escaping @Sendable (Int) -> Void, _ i: Int) { body = b; index = i }
  }
  var threads: [pthread_t] = []
  for i in 0..<count {
    var t = pthread_t()
    let box = Unmanaged.passRetained(Start(body, i)).toOpaque()
    let rc = pthread_create(&t, nil, { arg in
      let start = Unmanaged<Start>.fromOpaque(arg!).takeRetainedValue()
      start.body(start.index)
      return nil
    }, box)
    precondition(rc == 0, "weft-stress: pthread_create failed (\(rc))")
    threads.append(t)
  }
  for t in threads { pthread_join(t, nil) }
}

/// A value behind a pthread mutex. Not `Synchronization.Mutex`: ThreadSanitizer intercepts
/// pthread mutexes but cannot see Mutex's futex, so under `--sanitize=thread` a Mutex-guarded
/// value would be reported as racing.
final class Locked<State>: @unchecked Sendable {
  // SAFETY: `state` is only touched between lock and unlock of `mutex`.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private var state: State

  init(_ state: State) {
    self.state = state
    mutex = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&state)
  }
}

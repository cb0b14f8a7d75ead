import CWeft

/// A fiber: Julia's `Task`, a stackful coroutine run by a Weft scheduler.
///
/// `AnyFiber` is the untyped base (what `Fiber.current`, `schedule` and wait lists see);
/// `Fiber<Result>` adds the body and its typed result. An OS thread that is not a worker also
/// has a fiber object ("thread fiber", like Julia's root task) so that it can wait on the
/// same primitives: it parks by sleeping on a futex instead of switching stacks.
public class AnyFiber: WaitSite, @unchecked Sendable {
  // SAFETY (for @unchecked Sendable): the atomic words are accessed only atomically; the
  // other mutable fields are owned as documented in `FiberCore`, and ownership passes
  // between threads only through the release/acquire of `state` or of a run queue.

  // No stored properties (FiberCore A1): every field is in the block that follows the object
  // header, laid out by `FiberCore`; `make` allocates both at once.

  /// The fiber's state block: the object's tail bytes (FiberCore A1).
  @inline(__always) final var core: UnsafeMutableRawPointer {
    Unmanaged.passUnretained(self).toOpaque() + FiberCore.objectHeaderSize
  }

  /// A number unique in this process, for messages and dumps.
  public final var id: UInt64 { placement.pointee.id }
  /// True for the fiber object that stands for a non-worker OS thread.
  public var isThreadFiber: Bool { placement.pointee.isThreadFiber }
  /// Requested usable stack bytes; 0 means the scheduler's default.
  var stackSize: Int { Int(placement.pointee.stackSize) }

  @inline(__always) func word(_ i: Int) -> AtomicWord { AtomicWord(core.assumingMemoryBound(to: UInt.self) + i) }
  @inline(__always) var state: AtomicWord { word(FiberCore.Word.state) }
  @inline(__always) var completionLock: FutexLock { FutexLock(word(FiberCore.Word.lock)) }
  @inline(__always) var flags: AtomicWord { word(FiberCore.Word.flags) }
  @inline(__always) var exclusivityState: UnsafeMutablePointer<CChar> {
    (core + FiberCore.Word.exclusivity * 8).assumingMemoryBound(to: CChar.self)
  }
  @inline(__always) var run: UnsafeMutablePointer<FiberCore.Run> {
    (core + FiberCore.runOffset).assumingMemoryBound(to: FiberCore.Run.self)
  }
  @inline(__always) var placement: UnsafeMutablePointer<FiberCore.Placement> {
    (core + FiberCore.placementOffset).assumingMemoryBound(to: FiberCore.Placement.self)
  }
  @inline(__always) var links: UnsafeMutablePointer<FiberCore.Links> {
    (core + FiberCore.linksOffset).assumingMemoryBound(to: FiberCore.Links.self)
  }
  @inline(__always) var completion: UnsafeMutablePointer<FiberCore.Completion> {
    (core + FiberCore.completionOffset).assumingMemoryBound(to: FiberCore.Completion.self)
  }
  @inline(__always) var outcome: UnsafeMutablePointer<FiberCore.Outcome> {
    (core + FiberCore.outcomeOffset).assumingMemoryBound(to: FiberCore.Outcome.self)
  }

  // Owned by the worker that runs the fiber or has just switched it out:
  var context: UnsafeMutableRawPointer? {
    @inline(__always) get { run.pointee.context }
    @inline(__always) set { run.pointee.context = newValue }
  }
  var stack: FiberStack? {
    @inline(__always) get { run.pointee.stack }
    @inline(__always) set { run.pointee.stack = newValue }
  }
  var tsanFiber: UnsafeMutableRawPointer? {
    get { run.pointee.tsanFiber }
    set { run.pointee.tsanFiber = newValue }
  }

  /// Sticky fibers (Julia's `@async`) run only on their home worker; migratable ones on any
  /// worker of their pool. Fixed when first scheduled; it can later only turn on (Julia #41334).
  public internal(set) var sticky: Bool {
    @inline(__always) get { placement.pointee.sticky }
    set { placement.pointee.sticky = newValue }
  }
  var home: Worker? {
    get { placement.pointee.homeRaw.map { Unmanaged<Worker>.fromOpaque($0).takeUnretainedValue() } }
    set { placement.pointee.homeRaw = newValue.map { Unmanaged.passUnretained($0).toOpaque() } }
  }
  var pool: ThreadPool {
    @inline(__always) get { placement.pointee.pool }
    set { placement.pointee.pool = newValue }
  }
  var scheduler: Scheduler? {
    get { placement.pointee.schedulerRaw.map { Unmanaged<Scheduler>.fromOpaque($0).takeUnretainedValue() } }
    set { placement.pointee.schedulerRaw = newValue.map { Unmanaged.passUnretained($0).toOpaque() } }
  }
  /// Link for a worker's sticky inbox (a retained `Unmanaged` pointer, or 0).
  var inboxNext: UInt {
    @inline(__always) get { links.pointee.inboxNext }
    @inline(__always) set { links.pointee.inboxNext = newValue }
  }
  /// Link for waiter lists: a raw `Unmanaged` pointer or 0 (guarded by the list owner's lock).
  var waitNextRaw: UInt {
    @inline(__always) get { links.pointee.waitNext }
    @inline(__always) set { links.pointee.waitNext = newValue }
  }
  /// What the fiber waits on, for the state dump: written by the fiber itself, read by
  /// dumps on any thread (an atomic word holding the literal's NUL-terminated bytes); read
  /// it back with `waitingOnDescription`. "" clears it.
  func setWaitingOn(_ what: StaticString) {
    word(FiberCore.Word.waitingOn).storeRelease(what.utf8CodeUnitCount == 0 ? 0 : UInt(bitPattern: what.utf8Start))
  }
  /// `waitingOn` as text (empty when not waiting), for dumps.
  public var waitingOnDescription: String {
    let raw = word(FiberCore.Word.waitingOn).loadAcquire()
    guard raw != 0, let p = UnsafePointer<CChar>(bitPattern: raw) else { return "" }
    return String(cString: p)
  }
  /// Wake payload: written by the waker before its wake, read by the fiber after it resumes.
  /// In the cold state: most fibers never get one (a value from `schedule(t, value:)`,
  /// `yield(to:value:)` or `notify(value:)`, an error from `schedule(t, error:)` or
  /// `notify(error:)`), and 48 bytes in every fiber's block were 1 % of a blocked fiber.
  /// Storing nil where there is no cold state stores nothing (there is nothing to clear).
  var wakeValue: (any Sendable)? {
    get { coldIfAllocated?.wakeValue }
    set { if hasColdState || newValue != nil { cold.wakeValue = newValue } }
  }
  var wakeError: (any Error)? {
    get { coldIfAllocated?.wakeError }
    set { if hasColdState || newValue != nil { cold.wakeError = newValue } }
  }
  /// The error the body threw, if it failed.
  public internal(set) var error: (any Error)? {
    get { outcome.pointee.error }
    set { outcome.pointee.error = newValue }
  }
  /// Julia's task-local storage: a dictionary that belongs to this fiber only. Read and
  /// write it only from the fiber itself (`Fiber.current.localStorage`).
  public var localStorage: [AnyHashable: Any] {
    get { coldIfAllocated?.localStorage ?? [:] }
    set { cold.localStorage = newValue }
  }
  /// Innermost-last stack of `sync` scopes this fiber has open.
  var syncScopes: [SyncScope] {
    get { coldIfAllocated?.syncScopes ?? [] }
    set { cold.syncScopes = newValue }
  }
  /// The innermost open `sync` scope, if any (cheap when there is none).
  @inline(__always) var innermostSyncScope: SyncScope? { coldIfAllocated?.syncScopes.last }

  @inline(__always) private var coldWord: AtomicWord { word(FiberCore.Word.cold) }
  /// Whether the cold state was ever allocated (one load; no reference counted).
  @inline(__always) var hasColdState: Bool { coldWord.loadAcquire() != 0 }
  /// The cold state if allocated. Acquire: pairs with the publishing CAS in `cold`.
  @inline(__always) var coldIfAllocated: FiberCold? {
    let raw = coldWord.loadAcquire()
    guard raw != 0 else { return nil }
    return Unmanaged<FiberCold>.fromOpaque(UnsafeRawPointer(bitPattern: raw).unsafelyUnwrapped).takeUnretainedValue()
  }
  /// The cold state, allocated on first use; a full CAS publishes it once (the loser frees its copy).
  var cold: FiberCold {
    if let c = coldIfAllocated { return c }
    let fresh = Unmanaged.passRetained(FiberCold())
    let raw = UInt(bitPattern: fresh.toOpaque())
    if coldWord.compareExchangeFull(0, raw) { return fresh.takeUnretainedValue() }
    fresh.release()
    return coldIfAllocated.unsafelyUnwrapped
  }

  /// Not for use: a fiber is made by `make` (A1), which no initialiser can do.
  private init() { fatalError("BUG IN Weft: AnyFiber is allocated by AnyFiber.make") }

  /// Allocates a fiber object of class `type` with its state block (FiberCore A1), holding
  /// one reference (the caller's).
  /// Not generic, so that a caller in another module calls no unspecialised code.
  @usableFromInline
  static func make(_ type: AnyFiber.Type, sticky: Bool, stackSize: UInt32, pool: ThreadPool,
                   isThreadFiber: Bool = false, invoker: BodyInvoker? = nil) -> AnyFiber {
    let metadata = unsafeBitCast(type, to: UnsafeRawPointer.self)
    let raw = weft_fiber_object_make(metadata, FiberCore.objectSize).unsafelyUnwrapped  // A2
    let fiber = Unmanaged<AnyFiber>.fromOpaque(raw).takeRetainedValue()
    let worker = ThreadLocal.worker  // one TLS read for the id
    FiberCore.initialize(fiber.core, id: takeID(worker), sticky: sticky, pool: pool,
                         stackSize: stackSize, isThreadFiber: isThreadFiber, invoker: invoker)
    if isThreadFiber {
      fiber.state.storeRelaxed(FiberState.running)
      fiber.flags.storeRelaxed(FiberFlags.started)
    }
    return fiber
  }

  deinit {
    tearDown()
    // FiberCore A2 (FiberObjects.c B1): the last statement, with nothing left to release.
    weft_fiber_object_recycle(Unmanaged.passUnretained(self).toOpaque())
  }

  /// What the deinit does before it gives the block back: not inlined, so that every value
  /// it releases (and any code that runs for them) is released before the block is recycled.
  @inline(never)
  private final func tearDown() {
    if let invoker = outcome.pointee.invoker {  // FiberCore O1: still there, so either
      let hasResult = flags.loadRelaxed() & FiberFlags.hasResult != 0
      _ = try? invoker(outcomeStorage, hasResult ? .destroyResult : .destroyBody)  // or it never ran
    }
    if let raw = UnsafeRawPointer(bitPattern: coldWord.loadAcquire()) { Unmanaged<FiberCold>.fromOpaque(raw).release() }
    FiberCore.deinitialize(core)
    #if DEBUG
    core.initializeMemory(as: UInt.self, repeating: FiberState.freed, count: FiberCore.totalSize / 8)
    #endif
  }

  private static let idBlock = PaddedAtomicBlock(count: 1)
  /// The last id handed out (ids start at 1). Workers take batches of `idBatch` from it, so
  /// spawning on a worker touches no shared word (`Worker.nextFiberID`).
  static var nextID: AtomicWord { idBlock[0] }
  static let idBatch: UInt = 1024

  @inline(__always) private static func takeID(_ worker: UnsafeMutableRawPointer?) -> UInt64 {
    if let p = worker {
      return Unmanaged<Worker>.fromOpaque(p)._withUnsafeGuaranteedRef { $0.nextFiberID() }
    }
    return UInt64(nextID.fetchAddRelaxed(1) &+ 1)  // relaxed: only uniqueness matters
  }

  /// `FiberCore.Outcome.storage`: where `Fiber.init` moves the user's closure, and where
  /// its result is stored (O1; valid to read once done and not failed: Completion C1).
  @usableFromInline var outcomeStorage: UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(outcome) + MemoryLayout<FiberCore.Outcome>.offset(of: \.storage)!
  }

  /// Runs the body once, storing its result; returns the error it threw.
  func invoke() -> (any Error)? {
    guard let invoker = outcome.pointee.invoker else { return nil }
    outcome.pointee.invoker = nil  // the body is taken (O1)
    do {
      if try invoker(outcomeStorage, .run) {
        outcome.pointee.invoker = invoker  // to destroy the result with the fiber
        setFlag(FiberFlags.hasResult)
      }
      return nil
    } catch {
      return error
    }
  }

  /// F6: sets a flag bit; only the fiber's owner of the moment calls it.
  @inline(__always) func setFlag(_ bit: UInt) {
    // Release: pairs with the acquire loads of `isStarted` / `isFailed` on other threads.
    flags.storeRelease(flags.loadRelaxed() | bit)
  }

  // MARK: Public state

  /// Julia's `istaskdone`: the fiber has exited (normally or by an error).
  public var isDone: Bool { state.loadAcquire() == FiberState.done }
  /// Julia's `istaskstarted`: the fiber has begun running.
  public var isStarted: Bool { flags.loadAcquire() & FiberFlags.started != 0 }
  /// Julia's `istaskfailed`: the fiber has exited because its body threw.
  public var isFailed: Bool { isDone && flags.loadAcquire() & FiberFlags.failed != 0 }

  /// The run state's name ("created", "runnable", "running", "parked", "done"), for dumps.
  public var stateDescription: String { FiberState.name(state.loadAcquire()) }
}

extension AnyFiber: CustomStringConvertible {
  public var description: String {
    isThreadFiber ? "Fiber(thread \(id))" : "Fiber(\(id), \(stateDescription)\(sticky ? ", sticky" : ""))"
  }
}

extension AnyFiber: Hashable {
  public static func == (a: AnyFiber, b: AnyFiber) -> Bool { a === b }
  public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }
}

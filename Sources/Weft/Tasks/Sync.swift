/// Julia's `@sync`: runs `body`, then waits for every fiber that the calling fiber spawned
/// (with `spawn`, sticky or not) while `body` ran, and throws `CompositeError` with a
/// `TaskFailedError` for each that failed.
///
/// Deliberate difference: Julia's `@sync` is lexical (a macro sees the `@async`s in its
/// block); Weft's scope is dynamic: every `spawn` made by this fiber during `body`, including
/// from functions it calls, joins the innermost open `sync`. Spawns made by other fibers do
/// not. If `body` throws, the spawned fibers are still awaited; then its error is thrown
/// (inside the `CompositeError`, first, when spawned fibers failed too).
///
/// Interruption and cancellation: the join always waits for every child, so no child
/// outlives the scope. If the calling fiber is interrupted (`schedule(_:error:)`) or cancelled
/// while it joins, the join goes on and the interruption's error (or `CancellationError`) is
/// thrown at the end, first in the `CompositeError`. Cancelling the scope's fiber does not
/// cancel its children, unless `cancelOnError` is true.
/// - Parameters:
///   - cancelOnError: true: the first child that fails, an error thrown by `body`, and an
///     interruption or cancellation of the calling fiber cancel every child of the scope
///     (`cancel()`: their interruptible waits throw `CancellationError`).
///   - body: the scope; every fiber the calling fiber spawns while it runs is awaited.
/// - Returns: what `body` returned.
@discardableResult
public func sync<R>(cancelOnError: Bool = false, _ body: () throws -> R) throws -> R {
  let me = AnyFiber.currentContext
  let scope = SyncScope(cancelOnError: cancelOnError)
  me.syncScopes.append(scope)
  let outcome: Result<R, any Error>
  do { outcome = .success(try body()) } catch { outcome = .failure(error) }
  me.syncScopes.removeLast()
  var first: [any Error] = []  // body's error, then an interruption of the join
  if case .failure(let e) = outcome { first.append(e); scope.cancelAll() }
  var interrupted = false
  var errors: [any Error] = []
  for f in scope.fibers {
    // cancelOnError: no inline runs, so that the join stays interruptible and a cancellation
    // of this fiber reaches the children at once.
    if !interrupted, let i = f.waitUntilDone(inline: !cancelOnError) {
      // Interrupted while joining: remember it, then keep joining without interruptions.
      interrupted = true
      first.append(i.error("sync", timeout: nil))
      scope.cancelAll()
    }
    _ = f.waitUntilDone(interruptible: false)
    if f.isFailed { errors.append(TaskFailedError(fiber: f)) }
  }
  if !interrupted && me.isCancelled {
    // Cancelled while a child ran inline on this stack (no wait to interrupt): report it too.
    first.append(CancellationError())
  }
  if case .success(let r) = outcome, first.isEmpty, errors.isEmpty { return r }
  if first.count == 1, errors.isEmpty { throw first[0] }
  throw CompositeError(first + errors)
}

/// The fibers spawned inside one `sync` call.
@usableFromInline
final class SyncScope: @unchecked Sendable {
  // SAFETY: `fibers` is appended to by the fiber that opened the scope, and, with
  // cancelOnError, read by its children's completion hooks: then both happen under `lock`,
  // which also guards `cancelled`. The opener reads `fibers` unlocked only after its body.
  var fibers: [AnyFiber] = []
  let cancelOnError: Bool
  private let lock = OwnedFutexLock()
  private var cancelled = false

  init(cancelOnError: Bool) { self.cancelOnError = cancelOnError }

  /// cancelOnError: cancels every child (once); children that join later are cancelled as
  /// they join (`add`).
  func cancelAll() {
    guard cancelOnError else { return }
    let snapshot = lock.lock.withLock { () -> [AnyFiber] in
      if cancelled { return [] }
      cancelled = true
      return fibers
    }
    for f in snapshot { f.cancel() }
  }

  /// A child joins the scope; with cancelOnError, its failure cancels the others.
  func add(_ f: AnyFiber) {
    guard cancelOnError else { fibers.append(f); return }
    let cancelNow = lock.lock.withLock { () -> Bool in fibers.append(f); return cancelled }
    if cancelNow { f.cancel() }
    f.onCompletion { [self] child in if child.isFailed { cancelAll() } }
  }

  /// Adds `f` to the calling fiber's innermost open scope, if any.
  @usableFromInline
  static func register(_ f: AnyFiber) {
    guard let p = ThreadLocal.fiber else {
      if ThreadLocal.worker == nil { registerOnThread(f) }
      return
    }
    // Borrowed: the running fiber is alive by its run reference (FiberRef O1).
    Unmanaged<AnyFiber>.fromOpaque(p)._withUnsafeGuaranteedRef { me in
      if me.hasColdState, let scope = me.innermostSyncScope { scope.add(f) }
    }
  }

  @inline(never)
  private static func registerOnThread(_ f: AnyFiber) {
    if let scope = AnyFiber.currentContext.innermostSyncScope { scope.add(f) }
  }
}

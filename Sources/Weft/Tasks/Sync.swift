/// Julia's `@sync`: runs `body`, then waits for every fiber that the calling fiber spawned
/// (with `spawn`, sticky or not) while `body` ran, and throws `CompositeError` with a
/// `TaskFailedError` for each that failed.
///
/// Deliberate difference: Julia's `@sync` is lexical (a macro sees the `@async`s in its
/// block); Weft's scope is dynamic: every `spawn` made by this fiber during `body`, including
/// from functions it calls, joins the innermost open `sync`. Spawns made by other fibers do
/// not. If `body` throws, the spawned fibers are still awaited; then its error is thrown
/// (inside the `CompositeError`, first, when spawned fibers failed too).
@discardableResult
public func sync<R>(_ body: () throws -> R) throws -> R {
  let me = AnyFiber.currentContext
  let scope = SyncScope()
  me.syncScopes.append(scope)
  let outcome: Result<R, any Error>
  do { outcome = .success(try body()) } catch { outcome = .failure(error) }
  me.syncScopes.removeLast()
  var errors: [any Error] = []
  for f in scope.fibers {
    f.waitUntilDone()
    if f.isFailed { errors.append(TaskFailedError(fiber: f)) }
  }
  switch outcome {
  case .success(let r):
    if !errors.isEmpty { throw CompositeError(errors) }
    return r
  case .failure(let e):
    if errors.isEmpty { throw e }
    throw CompositeError([e] + errors)
  }
}

/// The fibers spawned inside one `sync` call.
@usableFromInline
final class SyncScope {
  var fibers: [AnyFiber] = []

  /// Adds `f` to the calling fiber's innermost open scope, if any.
  @usableFromInline
  static func register(_ f: AnyFiber) {
    guard let p = ThreadLocal.fiber else {
      if ThreadLocal.worker == nil { registerOnThread(f) }
      return
    }
    unowned(unsafe) let me = Unmanaged<AnyFiber>.fromOpaque(p).takeUnretainedValue()
    if let scope = me.innermostSyncScope { scope.fibers.append(f) }
  }

  @inline(never)
  private static func registerOnThread(_ f: AnyFiber) {
    if let scope = AnyFiber.currentContext.innermostSyncScope { scope.fibers.append(f) }
  }
}

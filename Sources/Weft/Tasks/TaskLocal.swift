// Julia's task-local storage: a dictionary per fiber (`AnyFiber.localStorage`).

/// Julia's `task_local_storage(key)`: the calling fiber's value for `key`.
public func taskLocalValue(_ key: AnyHashable) -> Any? {
  AnyFiber.currentContext.localStorage[key]
}

/// Julia's `task_local_storage(key, value)`: sets the calling fiber's value for `key`.
public func setTaskLocalValue(_ key: AnyHashable, _ value: Any?) {
  AnyFiber.currentContext.localStorage[key] = value
}

/// Julia's `task_local_storage(body, key, value)`: runs `body` with `key` bound to `value`
/// in the calling fiber's storage, then restores the previous value (or its absence), also
/// when `body` throws. Fibers spawned by `body` do not inherit the storage (as in Julia).
public func withTaskLocal<R>(_ key: AnyHashable, _ value: Any, _ body: () throws -> R) rethrows -> R {
  let me = AnyFiber.currentContext
  let previous = me.localStorage[key]
  me.localStorage[key] = value
  defer { me.localStorage[key] = previous }
  return try body()
}

/// Julia's `Threads` module: worker counts and identities.
public enum Threads {
  /// Julia's `Threads.nthreads(pool)`: the number of workers in `pool` of the calling
  /// fiber's scheduler (or the shared one).
  public static func nthreads(_ pool: ThreadPool = .default) -> Int {
    Scheduler.current.threadCount(pool)
  }

  /// Julia's `Threads.threadid()`: the calling worker's number, 1-based, interactive workers
  /// first. 0 on a thread that is not a Weft worker (Julia's main thread is a worker; in
  /// Weft the main thread only waits).
  public static func threadid() -> Int {
    Worker.current.map { $0.index + 1 } ?? 0
  }

  /// Julia's `Threads.threadpool()`: the pool of the calling worker, nil off the workers.
  public static func threadpool() -> ThreadPool? {
    Worker.current?.pool.kind
  }
}

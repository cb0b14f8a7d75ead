import Synchronization
import Weft
#if canImport(Glibc)
import Glibc
#endif

/// The watchdog: an OS thread that samples `Progress` every 100 ms. When it has not moved for
/// `--watchdog` seconds, it prints what was running (scenario, round, seed, the command to
/// rerun it) and the scheduler's state dump, then exits with status 3. Time bounds the
/// watchdog only; nothing waits on it (shared/STYLE.md, habit 10).
enum Watchdog {
  struct Activity: Sendable {
    var scenario = "(starting)"
    var round = 0
    var rerun = ""
  }
  static let activity = Locked(Activity())

  static func setActivity(_ a: Activity) { activity.withLock { $0 = a } }

  static func start(scheduler: Scheduler, seconds: Double) {
    startThread {
      var last = Progress.value
      var lastChange = nowSeconds()
      while true {
        usleep(100_000)
        let p = Progress.value
        let now = nowSeconds()
        if p != last { last = p; lastChange = now; continue }
        if now - lastChange < seconds { continue }
        let a = activity.withLock { $0 }
        printError("""

          WATCHDOG: no progress for \(fixed(now - lastChange, 1)) s in scenario \(a.scenario), round \(a.round).
          Scheduler state:
          \(scheduler.stateDump(listLimit: 100))
          rerun: \(a.rerun)
          weft-stress: FAIL (watchdog)
          """)
        _exit(3)
      }
    }
  }
}

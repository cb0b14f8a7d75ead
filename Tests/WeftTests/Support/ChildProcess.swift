#if canImport(Glibc)
import Glibc
#endif

/// This test binary run again as a child process with one test selected and an environment of
/// the test's choosing — for what exit tests cannot do: they inherit the harness's environment
/// (Scripts/test.sh sets SWIFT_BACKTRACE=enable=no, and the Swift runtime reads it at start).
/// Its stdout and stderr go to one pipe, read until end of file or `timeoutSeconds`.
struct ChildRun {
  /// What the child wrote to stdout and stderr.
  var output: String
  /// The signal it died of, or nil.
  var signal: Int32?
  /// Its exit status when it exited.
  var exitCode: Int32?
  /// True when every writer closed the pipe before the time limit: the child and anything it
  /// started (a crash backtracer) are gone.
  var pipeClosed: Bool
  /// Processes other than this one still holding the pipe when the reading stopped (an orphan
  /// swift-backtrace), killed: their command lines.
  var orphans: [String]
}

/// Runs the test named by `filter` (a Swift Testing `--filter`) in a child with `set` added to
/// this process's environment and `unset` removed from it.
func runTestBinaryChild(filter: String, set: [String: String], unset: [String], timeoutSeconds: Double) -> ChildRun {
  var pathBuffer = [CChar](repeating: 0, count: 4096)
  let n = readlink("/proc/self/exe", &pathBuffer, pathBuffer.count - 1)
  precondition(n > 0, "readlink /proc/self/exe failed: errno \(errno)")
  let exe = String(decoding: pathBuffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  let arguments = [exe, "--testing-library", "swift-testing", "--filter", filter]
  var environment: [String] = []
  var p = environ
  while let entry = p.pointee {
    let s = String(cString: entry)
    let name = String(s.prefix { $0 != "=" })
    if !unset.contains(name) && set[name] == nil { environment.append(s) }
    p += 1
  }
  for (k, v) in set { environment.append("\(k)=\(v)") }

  var fds: [Int32] = [-1, -1]
  precondition(pipe(&fds) == 0, "pipe failed: errno \(errno)")
  for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // the child gets them only through dup2
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
  var pid: pid_t = 0
  let rc = withCStrings(arguments) { argv in
    withCStrings(environment) { envp in posix_spawn(&pid, exe, &actions, nil, argv, envp) }
  }
  posix_spawn_file_actions_destroy(&actions)
  close(fds[1])
  precondition(rc == 0, "posix_spawn failed: \(rc)")

  // Read until every writer is gone, bounded by the deadline (not a sleep: poll returns as
  // soon as there is output or end of file).
  var bytes: [UInt8] = []
  var closed = false
  let deadline = monotonicSeconds() + timeoutSeconds
  var chunk = [UInt8](repeating: 0, count: 65536)
  while true {
    let left = deadline - monotonicSeconds()
    if left <= 0 { break }
    var pfd = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
    if poll(&pfd, 1, Int32(left * 1000) + 1) <= 0 { continue }
    let r = read(fds[0], &chunk, chunk.count)
    if r == 0 { closed = true; break }
    if r > 0 { bytes += chunk.prefix(r) } else if errno != EINTR { break }
  }
  let orphans = closed ? [] : killHolders(ofPipe: fds[0], except: pid)
  if !closed { kill(pid, SIGKILL) }
  close(fds[0])
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  let signal = status & 0x7f  // WTERMSIG; 0 when it exited
  return ChildRun(output: String(decoding: bytes, as: UTF8.self),
                  signal: signal != 0 ? signal : nil, exitCode: signal == 0 ? (status >> 8) & 0xff : nil,
                  pipeClosed: closed, orphans: orphans)
}

/// Processes other than this one and `child` with a descriptor open on the pipe `fd` belongs
/// to (/proc/N/fd/* reads `pipe:[inode]`), killed; their command lines.
private func killHolders(ofPipe fd: Int32, except child: pid_t) -> [String] {
  var st = stat()
  guard fstat(fd, &st) == 0, let dir = opendir("/proc") else { return [] }
  defer { closedir(dir) }
  let target = "pipe:[\(st.st_ino)]"
  var found: [String] = []
  while let entry = readdir(dir) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    guard let other = Int32(name), other != getpid(), other != child, holdsPipe(other, target) else { continue }
    found.append(commandLine(other))
    kill(other, SIGKILL)
  }
  return found
}

private func holdsPipe(_ pid: pid_t, _ target: String) -> Bool {
  guard let dir = opendir("/proc/\(pid)/fd") else { return false }
  defer { closedir(dir) }
  var link = [CChar](repeating: 0, count: 256)
  while let entry = readdir(dir) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let n = readlink("/proc/\(pid)/fd/\(name)", &link, link.count - 1)
    if n > 0, String(decoding: link.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) == target { return true }
  }
  return false
}

private func commandLine(_ pid: pid_t) -> String {
  let fd = open("/proc/\(pid)/cmdline", O_RDONLY)
  if fd < 0 { return "pid \(pid)" }
  defer { close(fd) }
  var buffer = [UInt8](repeating: 0, count: 4096)
  let n = read(fd, &buffer, buffer.count)
  return n > 0 ? buffer.prefix(n).split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ") : "pid \(pid)"
}

private func monotonicSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

private func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
  var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
  pointers.append(nil)
  defer { for p in pointers { free(p) } }
  return body(pointers)
}

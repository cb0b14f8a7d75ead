import ArgumentParser

/// weft-echo's command line: `weft-echo --port N [--workers K] [--host H] [--ready-file F]`.
public struct EchoArguments: ParsableArguments {
  @Option(parsing: .unconditional,
          help: ArgumentHelp("TCP port to listen on (0: any free port, printed at start).", valueName: "N"),
          transform: { text in
            let n = try Value.count(text, minimum: 0)
            guard n <= 65535 else { throw ValidationError("\(n) is not a port (0...65535)") }
            return n
          })
  public var port: Int

  @Option(parsing: .unconditional,
          help: ArgumentHelp("Worker threads (default: $WEFT_NUM_THREADS, else the CPU count).", valueName: "K"),
          transform: { try Value.count($0, minimum: 1) })
  public var workers: Int?

  @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1; \"::1\" for IPv6).", valueName: "host"))
  public var host: String = "127.0.0.1"

  @Option(name: .customLong("max-connections"),
          help: ArgumentHelp("Exit after serving this many connections (default: serve for ever).", valueName: "N"),
          transform: { try Value.count($0, minimum: 1) })
  public var maxConnections: Int?

  public init() {}
}

import Testing
@testable import Weft

@Suite("Channel misuse")
struct ChannelMisuseTests {
  @Test func negativeCapacityStopsTheProgram() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Channel<Int>(capacity: -1)
    }
    let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text.contains("Weft misuse: Channel capacity -1 is negative"))
  }

  @Test func negativeCapacityOfAProducerChannelStopsTheProgram() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Channel<Int>(capacity: -5) { _ in }
    }
    let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text.contains("Weft misuse: Channel capacity -5 is negative"))
  }

  @Test func fetchOnAnUnbufferedChannelStopsTheProgram() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try? Channel<Int>(capacity: 0).fetch()
    }
    let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text.contains("Weft misuse: fetch() on an unbuffered channel"))
  }

  /// Scheduling a fiber that is blocked in a channel operation (it does not own that wait) is
  /// reported instead of corrupting the channel (Julia: "schedule: Task not runnable").
  @Test func strayWakeOfABlockedTakerStopsTheProgram() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let c = Channel<Int>(capacity: 0)
      let taker = spawn { _ = try? c.take() }
      while taker.stateDescription != "parked" { yield() }
      schedule(taker)
      try? taker.wait()
    }
    let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text.contains("Weft misuse: schedule(_:value:) of fiber"))
    #expect(text.contains("which is blocked in Channel.take"))
  }
}

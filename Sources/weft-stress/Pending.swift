// Scenarios that need the sync primitives and channels (issues 3 and 4). Each lives in its
// own file once those have landed, and is listed here.
let syncScenarios: [Scenario] = []
let channelScenarios: [Scenario] = []

/// Scenarios of issue 5 not written yet because their primitives have not landed.
let pendingScenarios: [String] = [
  "lock-contention", "condition-pingpong", "oneway-event", "channel-traffic", "channel-bind",
]

// Scenarios that need the sync primitives and channels (issues 3 and 4): each in its own file.
let syncScenarios: [Scenario] = [lockContention, conditionPingPong, oneWayEventRace]
let channelScenarios: [Scenario] = []

/// Scenarios of issue 5 not written yet because their primitives have not landed.
let pendingScenarios: [String] = ["channel-traffic", "channel-bind"]

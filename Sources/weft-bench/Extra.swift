// Workloads added by later features (sync primitives, channels). Each lives in its own file
// and is listed here.
let extraWorkloads: [Workload] = [lockContention, eventPingPong] + channelWorkloads + ioWorkloads + interopWorkloads
  + distributedWorkloads

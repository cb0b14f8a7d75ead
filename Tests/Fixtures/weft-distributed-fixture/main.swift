// The worker executable of WeftDistributedTests: the fixture functions, then worker mode.

import WeftDistributed
import WeftDistributedFixtures

registerFixtures()
runWorkerIfLaunched()
print("weft-distributed-fixture: start me through addProcs (WEFT_DISTRIBUTED_WORKER=1)")

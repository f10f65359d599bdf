package stack

import "path/filepath"

// sandboxStateDir is where the sandboxes keep their worlds (the demo dataset, each vendor's
// records, idempotency keys and id counters), next to the services' databases and the NATS
// store: restarting the stack on the same data directory restarts the same world, and deleting
// the directory starts a new one.
func (s *Stack) sandboxStateDir() string { return filepath.Join(s.opts.Config.DataDir, "sandboxes") }

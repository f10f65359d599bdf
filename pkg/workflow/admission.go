package workflow

// Admission control: the runner starts a step only while the system it calls can take the call.
//
// A step is mostly one call to a governed vendor. Without admission a free worker takes the next
// due step whatever it calls, and a backlog for a slow vendor (an ERP with three slots) ends up
// holding every worker in front of that vendor's governor: the other vendors' steps wait behind
// it, and on a loaded machine the queued calls outlive their deadlines and come back as retries.
// With admission, a step for a saturated system stays in the queue (the database), holding no
// worker, while steps for other systems start; and as soon as the system's guard has a free slot
// a step for it starts, so its slots stay full whenever work for it is due.

// Capacity is what the runner reads of the guard in front of a system (a *governor.Governor):
// how many calls it lets run at once and how many more it would start now without making any
// wait.
type Capacity interface {
	Limit() int
	Free() int
}

// Admission names the guard of the system a step calls (Step.System); nil for a system it does
// not guard, whose steps start whenever a worker is free.
type Admission func(system string) Capacity

// admitsLocked says whether one more step calling system may start; d.mu is held.
//
// Up to Limit steps of a system run whatever its guard says: at most Limit of them can be in
// calls. Beyond that a step starts only while the guard has a slot free right now: a step spends
// much of its time outside the vendor call (the system API hop, request signing, the runner's own
// transaction; on a busy machine more than in the call itself), and those extra steps are what
// keep the slots busy meanwhile. A free slot stops counting as soon as calls queue for it, so
// steps stop starting once the vendor is saturated; overAdmit bounds what one pass can start
// before its steps reach the guard, and so what can ever queue there: (overAdmit-1) × Limit
// calls, each waiting for a few calls to end, far inside any deadline.
func (d *dispatcher) admitsLocked(system string) bool {
	if system == "" || d.e.opts.Admission == nil {
		return true
	}
	c := d.e.opts.Admission(system)
	if c == nil {
		return true
	}
	n, limit := d.systems[system], max(1, c.Limit())
	return n < limit || (n < overAdmit*limit && c.Free() > 0)
}

// overAdmit is how many steps per slot of its guard a system may have running, at most.
const overAdmit = 4

// saturatedLocked lists the systems that can take no further step now; d.mu is held.
func (d *dispatcher) saturatedLocked() map[string]bool {
	if d.e.opts.Admission == nil {
		return nil
	}
	var out map[string]bool
	for _, def := range d.e.defs {
		for _, step := range def.Steps {
			if step.System == "" || out[step.System] || d.admitsLocked(step.System) {
				continue
			}
			if out == nil {
				out = map[string]bool{}
			}
			out[step.System] = true
		}
	}
	return out
}

// ticket is a worker's admission: the system whose step it runs. A worker that chains into a
// step for another system trades its ticket for one of that system's, or stops.
type ticket struct {
	d      *dispatcher
	system string
}

// admit is the worker's admitFunc.
func (t *ticket) admit(system string) bool {
	if system == t.system {
		return true
	}
	d := t.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.admitsLocked(system) {
		return false
	}
	d.releaseLocked(t.system)
	d.acquireLocked(system)
	t.system = system
	return true
}

func (d *dispatcher) acquireLocked(system string) {
	if system != "" {
		d.systems[system]++
	}
}

func (d *dispatcher) releaseLocked(system string) {
	if system == "" {
		return
	}
	if d.systems[system]--; d.systems[system] <= 0 {
		delete(d.systems, system)
	}
}

// stepSystem is the system the step of kind's state calls ("" when the state has no step:
// compensating, a waiting state, an unknown kind).
func (e *Engine) stepSystem(kind, state string) string {
	if def := e.defs[kind]; def != nil {
		return def.Steps[state].System
	}
	return ""
}

package stripe

import (
	"strconv"
	"testing"
	"time"
)

// However many keys arrive within Stripe's 24 hours, the sandbox holds at most max; the newest
// keys keep replaying and the oldest finished ones go first.
func TestIdempotencyStoreIsBounded(t *testing.T) {
	t.Parallel()
	clock := time.Unix(1_800_000_000, 0)
	st := newIdempotencyStore(func() time.Time { return clock })
	st.max = 800
	for i := range 10_000 {
		clock = clock.Add(time.Millisecond)
		key := "k" + strconv.Itoa(i)
		if _, state := st.begin(key, "fp", "req"); state != keyFresh {
			t.Fatalf("key %d: state %v, want fresh", i, state)
		}
		st.finish(key, result{executed: true})
		if n := st.size(); n > 800 {
			t.Fatalf("after %d keys the store holds %d, want at most 800", i+1, n)
		}
	}
	if _, state := st.begin("k9999", "fp", "req2"); state != keyReplay {
		t.Errorf("the newest key: state %v, want a replay", state)
	}
	if _, state := st.begin("k0", "fp", "req2"); state != keyFresh {
		t.Errorf("the oldest key: state %v, want forgotten (fresh)", state)
	}
}

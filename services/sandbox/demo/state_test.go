package demo

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestOpenKeepsTheFirstWorld opens the dataset twice on one directory, the second time later and
// with another seed: it is the first run's dataset, indexes and scenarios included.
func TestOpenKeepsTheFirstWorld(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	first, err := Open(dir, 3, now, 5, 30)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Open(dir, 4, now.Add(48*time.Hour), 9, 60)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second, cmp.AllowUnexported(Dataset{}), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("reopened dataset differs (-first +second):\n%s", diff)
	}
	if got, want := second.Scenario(ScenarioAlreadyReturned).ID, first.Scenario(ScenarioAlreadyReturned).ID; got != want {
		t.Errorf("scenario order after reopening = %s; want %s", got, want)
	}
}

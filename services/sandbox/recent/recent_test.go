package recent

import (
	"strconv"
	"testing"
)

func TestMapStaysBoundedUnderManyRecords(t *testing.T) {
	t.Parallel()
	m := New[int](1000)
	for i := range 1_000_000 {
		m.Put("k"+strconv.Itoa(i), i)
		if m.Len() > 1000 {
			t.Fatalf("after %d records: %d keys held; want at most 1000", i+1, m.Len())
		}
	}
	if got := len(m.index); got != 1000 {
		t.Errorf("index holds %d keys; want 1000", got)
	}
	// The newest are kept, the oldest forgotten.
	if v, ok := m.Get("k999999"); !ok || v != 999999 {
		t.Errorf("newest key: got %d, %v; want 999999, true", v, ok)
	}
	if v, ok := m.Get("k999000"); !ok || v != 999000 {
		t.Errorf("oldest kept key: got %d, %v; want 999000, true", v, ok)
	}
	if _, ok := m.Get("k998999"); ok {
		t.Error("a key older than the last 1000 is still held")
	}
}

func TestMapRewriteKeepsAge(t *testing.T) {
	t.Parallel()
	m := New[string](2)
	m.Put("a", "first")
	m.Put("b", "b")
	m.Put("a", "again") // not made younger
	m.Put("c", "c")
	if _, ok := m.Get("a"); ok {
		t.Error(`"a" survived although it was the oldest key`)
	}
	var keys []string
	for k, v := range m.All {
		keys = append(keys, k+"="+v)
	}
	if got, want := len(keys), 2; got != want || keys[0] != "b=b" || keys[1] != "c=c" {
		t.Errorf("All: got %v; want [b=b c=c]", keys)
	}
}

func TestNewHoldsAtLeastOne(t *testing.T) {
	t.Parallel()
	m := New[int](0)
	m.Put("a", 1)
	m.Put("b", 2)
	if m.Len() != 1 || m.Cap() != 1 {
		t.Errorf("Len %d Cap %d; want 1, 1", m.Len(), m.Cap())
	}
	if v, ok := m.Get("b"); !ok || v != 2 {
		t.Errorf("got %d, %v; want 2, true", v, ok)
	}
}

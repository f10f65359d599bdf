// Package recent keeps a vendor sandbox's idempotency records: the first answer given for each
// key, for the most recent keys only. Vendors keep keys for a retention period (Stripe 24 hours,
// Shopify's @idempotent about a day); a sandbox under a sustained load that kept every key would
// grow without bound, so a Map holds at most its capacity and forgets the oldest key first. A
// repeat of a forgotten key executes again, as it would at the vendor after its retention.
package recent

import "container/list"

// Map is a map from key to record that holds at most its capacity of keys, oldest forgotten
// first. It is not safe for concurrent use: sandboxes call it under their own lock.
type Map[V any] struct {
	max   int
	index map[string]*list.Element
	order *list.List // of *entry[V], oldest at the front
}

type entry[V any] struct {
	key   string
	value V
}

// New returns an empty Map that holds at most capacity keys (at least one).
func New[V any](capacity int) *Map[V] {
	return &Map[V]{max: max(capacity, 1), index: map[string]*list.Element{}, order: list.New()}
}

// Get returns the record of key.
func (m *Map[V]) Get(key string) (V, bool) {
	if e, ok := m.index[key]; ok {
		return e.Value.(*entry[V]).value, true
	}
	var zero V
	return zero, false
}

// Put stores v under key. A key already held keeps its age (a record is the first answer, so it
// is not made younger by being written again); a new key past the capacity forgets the oldest.
func (m *Map[V]) Put(key string, v V) {
	if e, ok := m.index[key]; ok {
		e.Value.(*entry[V]).value = v
		return
	}
	m.index[key] = m.order.PushBack(&entry[V]{key: key, value: v})
	for m.order.Len() > m.max {
		oldest := m.order.Front()
		m.order.Remove(oldest)
		delete(m.index, oldest.Value.(*entry[V]).key)
	}
}

// Len is the number of keys held.
func (m *Map[V]) Len() int { return m.order.Len() }

// Cap is the most keys the Map holds.
func (m *Map[V]) Cap() int { return m.max }

// All yields every key and record, oldest first (the order a snapshot restores them in).
func (m *Map[V]) All(yield func(string, V) bool) {
	for e := m.order.Front(); e != nil; e = e.Next() {
		en := e.Value.(*entry[V])
		if !yield(en.key, en.value) {
			return
		}
	}
}

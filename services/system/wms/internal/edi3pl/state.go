package edi3pl

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StateBucket is the JetStream key-value bucket holding what the connector knows of the 3PL:
// the orders and returns it sent and what came back for them, stock positions, the control
// number sequence and the interchanges already processed. EDI has no query API, so this is
// what GetShippingOrder, GetReturnReceipt and ListPositions read. Every write is a
// compare-and-set, so replicas of the WMS service share it safely.
const StateBucket = "RB_EDI3PL_STATE"

// state is the connector's view over the bucket.
type state struct {
	js jetstream.JetStream

	mu sync.Mutex
	kv jetstream.KeyValue
}

func (s *state) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv != nil {
		return s.kv, nil
	}
	if s.js == nil {
		return nil, errors.New("edi3pl: no JetStream for the connector's state")
	}
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: StateBucket,
		Description: "Retailbridge: the EDI 3PL's orders, returns, stock, control numbers and processed interchanges",
		History:     1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("edi3pl: state bucket: %w", err)
	}
	s.kv = kv
	return kv, nil
}

// key makes a record key from a kind and any ids (hex keeps them within the key alphabet).
func key(kind string, ids ...string) string {
	k := kind
	for _, id := range ids {
		k += "." + hex.EncodeToString([]byte(id))
	}
	return k
}

// get reads a record into v; found is false when there is none.
func (s *state) get(ctx context.Context, k string, v any) (rev uint64, found bool, err error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return 0, false, err
	}
	e, err := kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("edi3pl: read %s: %w", k, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, false, fmt.Errorf("edi3pl: decode %s: %w", k, err)
	}
	return e.Revision(), true, nil
}

// update applies fn to the record (a zero value when there is none) and writes it back with a
// compare-and-set, retrying when another writer came first. fn returning false writes nothing.
func update[T any](ctx context.Context, s *state, k string, fn func(v *T, found bool) (bool, error)) error {
	var v T
	return updateAny(ctx, s, k, &v, func(found bool) (bool, error) { return fn(&v, found) })
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// nextControlNumber issues the next interchange control number (also used as the group's):
// 1 … 999999999, then 1 again, as partners expect.
func (s *state) nextControlNumber(ctx context.Context) (int64, error) {
	var n int64
	err := update(ctx, s, "seq.interchange", func(v *int64, _ bool) (bool, error) {
		*v = *v%999_999_999 + 1
		n = *v
		return true, nil
	})
	return n, err
}

// processed records an inbound interchange (sender, control number) once; it reports whether
// it was already there.
func (s *state) processed(ctx context.Context, sender, icn, file string, at time.Time) (dup bool, err error) {
	n, _ := strconv.ParseUint(icn, 10, 64)
	err = update(ctx, s, key("icn", sender, strconv.FormatUint(n, 10)), func(v *map[string]string, found bool) (bool, error) {
		if found {
			dup = true
			return false, nil
		}
		*v = map[string]string{"file": file, "at": at.UTC().Format(time.RFC3339)}
		return true, nil
	})
	return dup, err
}

// seen reports whether an inbound interchange was processed.
func (s *state) seen(ctx context.Context, sender, icn string) (bool, error) {
	n, _ := strconv.ParseUint(icn, 10, 64)
	var v map[string]string
	_, found, err := s.get(ctx, key("icn", sender, strconv.FormatUint(n, 10)), &v)
	return found, err
}

// updateAny is update for a record the caller holds: rec is read into (zeroed first) and written
// from, and fn sees whether it was found.
func updateAny(ctx context.Context, s *state, k string, rec any, fn func(found bool) (bool, error)) error {
	kv, err := s.bucket(ctx)
	if err != nil {
		return err
	}
	for range 20 {
		zero(rec)
		rev, found, err := s.get(ctx, k, rec)
		if err != nil {
			return err
		}
		write, err := fn(found)
		if err != nil || !write {
			return err
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if found {
			_, err = kv.Update(ctx, k, b, rev)
		} else {
			_, err = kv.Create(ctx, k, b)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return fmt.Errorf("edi3pl: write %s: %w", k, err)
		}
	}
	return fmt.Errorf("edi3pl: write %s: too many concurrent writers", k)
}

// zero resets the record a pointer points to, so a retried read starts clean.
func zero(rec any) { reflect.ValueOf(rec).Elem().SetZero() }

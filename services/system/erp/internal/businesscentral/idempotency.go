package businesscentral

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"hash/fnv"

	"google.golang.org/protobuf/proto"
)

// Business Central has no idempotency key. A create is made idempotent by the document's
// external document number (Text[35]), derived from the operation and the caller's key (its
// first half) and from the request (its second half): before creating, the connector looks the
// first half up. A document found with the same second half is the earlier attempt's, returned
// as it is; one with another second half means the key was used for a different request.
// Attempts with one key in this process are serialised, so they cannot both miss and both create;
// two processes racing on one key within the lookup-to-create gap could still both create, which
// the returns workflow (one worker per return) never does.

var b32 = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding) // Crockford's alphabet

// externalNumber is the external document number of a create: "RB", 13 characters of the
// operation and key, 13 of the request (28 in all).
func externalNumber(op, key string, req proto.Message) (prefix, full string) {
	k := sha256.Sum256([]byte(op + "\x00" + key))
	prefix = "RB" + b32.EncodeToString(k[:])[:13]
	return prefix, prefix + fingerprint(req)
}

// fingerprint is 13 characters of the request's hash, its idempotency key left out.
func fingerprint(req proto.Message) string {
	c := proto.Clone(req)
	if f := c.ProtoReflect().Descriptor().Fields().ByName("idempotency_key"); f != nil {
		c.ProtoReflect().Clear(f)
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	h := sha256.Sum256(b)
	return b32.EncodeToString(h[:])[:13]
}

// keyLocks serialises the attempts of one key in this process (keys share one of 64 stripes).
type keyLocks struct {
	stripes []chan struct{}
}

func newKeyLocks() keyLocks {
	k := keyLocks{stripes: make([]chan struct{}, 64)}
	for i := range k.stripes {
		k.stripes[i] = make(chan struct{}, 1)
	}
	return k
}

// lock waits, within ctx, for key's stripe and returns its release.
func (k keyLocks) lock(ctx context.Context, key string) (func(), error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	s := k.stripes[h.Sum32()%uint32(len(k.stripes))]
	select {
	case s <- struct{}{}:
		return func() { <-s }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

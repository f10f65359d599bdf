package inventory

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
)

// ListPositions lists positions with every state, from the ledger, sorted by location and then
// SKU, a page at a time. Partners see their tenant's locations only.
//
// The page token is the key of the last position listed, so a page starts after it even when
// positions were added or removed in between.
func (s *Service) ListPositions(ctx context.Context, req *inventoryv1.ListPositionsRequest) (*inventoryv1.ListPositionsResponse, error) {
	c, err := s.callerOf(ctx)
	if err != nil {
		return nil, err
	}
	size, after, err := validateListPositions(req)
	if err != nil {
		return nil, err
	}
	sc, err := c.scope(req.GetLocationIds())
	if err != nil {
		return nil, err
	}
	positions, err := readPositions(ctx, s.db, positionFilter{skus: req.GetSkus(), locations: sc.locations})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(positions, func(a, b *canonicalv1.InventoryPosition) int {
		return strings.Compare(positionKey(a), positionKey(b))
	})
	start := sort.Search(len(positions), func(i int) bool { return positionKey(positions[i]) > after })
	end := min(start+int(size), len(positions))
	resp := &inventoryv1.ListPositionsResponse{Positions: positions[start:end]}
	if end < len(positions) {
		resp.NextPageToken = encodeCursor(positionKey(positions[end-1]))
	}
	return resp, nil
}

// validateListPositions returns the page size and the key the page starts after ("" for the
// first page).
func validateListPositions(req *inventoryv1.ListPositionsRequest) (int32, string, error) {
	var v violations
	v.checkSKUs(req.GetSkus())
	v.checkLocations(req.GetLocationIds())
	size := req.GetPageSize()
	switch {
	case size == 0:
		size = defaultPageSize
	case size < 0:
		v.add("page_size", fmt.Sprintf("must be between 1 and %d", maxPageSize))
	case size > maxPageSize:
		v.addReason("page_size_too_large", "page_size", fmt.Sprintf("must be at most %d", maxPageSize))
	}
	var after string
	if tok := req.GetPageToken(); tok != "" {
		key, ok := decodeCursor(tok)
		if !ok {
			v.addReason("invalid_page_token", "page_token", "is not a token this service issued")
		}
		after = key
	}
	if err := v.err(); err != nil {
		return 0, "", err
	}
	return size, after, nil
}

// positionKey orders positions by location, then SKU. Neither holds control characters, so the
// separator sorts before any character that could follow.
func positionKey(p *canonicalv1.InventoryPosition) string {
	return p.GetLocationId() + "\x00" + p.GetSku()
}

// encodeCursor makes a page token from the last listed position's key. It is opaque to callers
// and carries nothing they could not already see.
func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// decodeCursor reads a page token back into a position key.
func decodeCursor(tok string) (string, bool) {
	if len(tok) > maxTokenLength {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	loc, sku, ok := strings.Cut(string(b), "\x00")
	if !ok || loc == "" || sku == "" || strings.Contains(sku, "\x00") {
		return "", false
	}
	return string(b), true
}

package returns

import (
	"context"
	"slices"
	"strings"

	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/retailbridge/retailbridge/pkg/cache"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// itemReader reads ERP item records through a per-SKU cache. The SKUs a check needs that are not
// cached are fetched together in one GetItems call (one per 100 SKUs), and concurrent checks that
// miss the same SKUs share that call. A SKU the ERP reports missing is cached as nil, so an
// unknown SKU does not cost a call on every check.
type itemReader struct {
	erp    erpv1.ErpServiceClient
	cache  *cache.Cache[string, *erpv1.Item]
	flight singleflight.Group
}

// get returns the known items among skus, keyed by SKU; SKUs the ERP does not know are absent.
func (r *itemReader) get(ctx context.Context, skus []string) (map[string]*erpv1.Item, error) {
	found := make(map[string]*erpv1.Item, len(skus))
	var missing []string
	for _, sku := range skus {
		it, _, ok := r.cache.Peek(sku)
		switch {
		case !ok:
			missing = append(missing, sku)
		case it != nil:
			found[sku] = it
		}
	}
	if len(missing) == 0 {
		return found, nil
	}
	slices.Sort(missing)
	res, err, _ := r.flight.Do(strings.Join(missing, "\x00"), func() (any, error) {
		return r.fetch(ctx, missing)
	})
	if err != nil {
		return nil, err
	}
	for sku, it := range res.(map[string]*erpv1.Item) {
		found[sku] = it
	}
	return found, nil
}

// fetch reads skus from the ERP and caches the answers. It looks in the cache again first: a
// check that missed just before another check's call for the same SKUs finished finds them there.
func (r *itemReader) fetch(ctx context.Context, skus []string) (map[string]*erpv1.Item, error) {
	got := make(map[string]*erpv1.Item, len(skus))
	var ask []string
	for _, sku := range skus {
		if it, _, ok := r.cache.Peek(sku); !ok {
			ask = append(ask, sku)
		} else if it != nil {
			got[sku] = it
		}
	}
	for chunk := range slices.Chunk(ask, maxSKUsPerCall) {
		resp, err := r.erp.GetItems(ctx, &erpv1.GetItemsRequest{Skus: chunk})
		if err != nil {
			return nil, err
		}
		for _, it := range resp.GetItems() {
			if slices.Contains(chunk, it.GetSku()) {
				got[it.GetSku()] = it
				r.cache.Put(it.GetSku(), it)
			}
		}
		// Only SKUs the ERP says it does not know are remembered as unknown; one it neither
		// returned nor listed is treated as unknown for this answer and asked for again next time.
		for _, sku := range resp.GetMissingSkus() {
			if _, ok := got[sku]; !ok && slices.Contains(chunk, sku) {
				r.cache.Put(sku, nil)
			}
		}
	}
	return got, nil
}

func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }

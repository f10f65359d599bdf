package erp

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// Limits of ListInventoryBalances' filters.
const (
	maxBalanceSKUs      = 1000
	maxBalanceLocations = 100
)

// ListItems reads the ERP's item master, sorted by SKU.
func (s *Service) ListItems(ctx context.Context, _ *erpv1.ListItemsRequest) (*erpv1.ListItemsResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	items, err := s.conn.ListItems(ctx)
	if err != nil {
		return nil, s.failed(ctx, "ListItems", err)
	}
	slices.SortFunc(items, func(a, b *erpv1.Item) int { return strings.Compare(a.GetSku(), b.GetSku()) })
	return &erpv1.ListItemsResponse{Items: items}, nil
}

// ListInventoryBalances reads the ERP's on-hand per item and location, sorted by location then
// SKU, with the time it was read.
func (s *Service) ListInventoryBalances(ctx context.Context, req *erpv1.ListInventoryBalancesRequest) (*erpv1.ListInventoryBalancesResponse, error) {
	var v violations
	if len(req.GetSkus()) > maxBalanceSKUs {
		v.add("skus", "must name at most %d SKUs", maxBalanceSKUs)
	}
	if len(req.GetLocationIds()) > maxBalanceLocations {
		v.add("location_ids", "must name at most %d locations", maxBalanceLocations)
	}
	for i, sku := range req.GetSkus() {
		v.sku(fmt.Sprintf("skus[%d]", i), sku)
	}
	for i, loc := range req.GetLocationIds() {
		v.id(fmt.Sprintf("location_ids[%d]", i), loc, true)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var locs []string
	for i, loc := range req.GetLocationIds() {
		id, err := s.erpLocation(fmt.Sprintf("location_ids[%d]", i), loc)
		if err != nil {
			return nil, err
		}
		locs = append(locs, id)
	}
	asOf := timestamppb.Now()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	balances, err := s.conn.ListInventoryBalances(ctx, req.GetSkus(), locs)
	if err != nil {
		return nil, s.failed(ctx, "ListInventoryBalances", err)
	}
	balances = s.ledgerBalances(balances)
	slices.SortFunc(balances, func(a, b *erpv1.InventoryBalance) int {
		return cmp.Or(strings.Compare(a.GetLocationId(), b.GetLocationId()), strings.Compare(a.GetErpLocationId(), b.GetErpLocationId()),
			strings.Compare(a.GetSku(), b.GetSku()))
	})
	return &erpv1.ListInventoryBalancesResponse{Balances: balances, AsOf: asOf}, nil
}

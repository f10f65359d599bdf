package inventory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/store"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// The location check: locations are named by configuration (the channels' locations, the push's
// locations) and by the sources (the ERP's balances under the ERP system API's location map, the
// warehouse's positions, the ledger's own positions). At start and after every item master
// refresh one replica compares them: a location the configuration names that no source knows is
// reported (unknown_location: a channel that silently sells from nowhere), and so is an ERP
// location the ERP's location map lacks (unmapped_location, by the ERP's own id: its stock is
// neither compared nor taken). Reconciliation reports unmapped ERP locations too, from the
// balances it reads. The findings are listed with the SKU mismatches (ListSkuMismatches, with a
// location id and no SKU) and counted by retailbridge_inventory_sku_mismatches{kind}.

// Location mismatch kinds and the system an unknown location is charged to.
const (
	mismatchUnmappedLocation = "unmapped_location"
	mismatchUnknownLocation  = "unknown_location"
	systemConfig             = "config"
)

// locationMismatch is one location the check could not reconcile.
type locationMismatch struct{ loc, kind, system, detail string }

// LocationResult says what one location check saw.
type LocationResult struct {
	// Known are the locations the sources know, sorted.
	Known []string
	// Unknown are the configured locations no source knows, sorted.
	Unknown []string
	// Unmapped are the ERP locations (the ERP's ids) the ERP's location map lacks, sorted.
	Unmapped []string
}

// CheckLocations runs the location check once (see above).
func (s *Service) CheckLocations(ctx context.Context) (LocationResult, error) {
	var res LocationResult
	known, unmapped, err := s.knownLocations(ctx)
	if err != nil {
		return res, err
	}
	var found []locationMismatch
	for _, id := range unmapped {
		found = append(found, unmappedLocation(id))
	}
	for _, loc := range s.cfg.configuredLocations() {
		if !known[loc.id] {
			res.Unknown = append(res.Unknown, loc.id)
			found = append(found, locationMismatch{loc.id, mismatchUnknownLocation, systemConfig,
				fmt.Sprintf("%s names %s, which no source (ERP, warehouse, ledger) knows", strings.Join(loc.by, " and "), loc.id)})
		}
	}
	for loc := range known {
		res.Known = append(res.Known, loc)
	}
	slices.Sort(res.Known)
	res.Unmapped = unmapped
	err = s.storeLocationMismatches(ctx, found, mismatchUnmappedLocation, mismatchUnknownLocation)
	return res, err
}

func unmappedLocation(erpID string) locationMismatch {
	return locationMismatch{erpID, mismatchUnmappedLocation, systemERP,
		"the ERP holds stock at location " + erpID + ", which the ERP's location map does not map to a ledger location"}
}

// knownLocations reads the locations every configured source knows, and the ERP's unmapped ones.
func (s *Service) knownLocations(ctx context.Context) (map[string]bool, []string, error) {
	known := map[string]bool{}
	var unmapped []string
	if s.erp != nil {
		resp, err := s.erp.ListInventoryBalances(ctx, &erpv1.ListInventoryBalancesRequest{})
		if err != nil {
			return nil, nil, fmt.Errorf("erp balances: %w", err)
		}
		for _, b := range resp.GetBalances() {
			if b.GetLocationId() == "" {
				unmapped = append(unmapped, b.GetErpLocationId())
			} else {
				known[b.GetLocationId()] = true
			}
		}
	}
	if s.wms != nil {
		resp, err := s.wms.ListPositions(ctx, &wmsv1.ListPositionsRequest{})
		if err != nil {
			return nil, nil, fmt.Errorf("warehouse positions: %w", err)
		}
		for _, p := range resp.GetPositions() {
			known[p.GetLocationId()] = true
		}
	}
	rows, err := s.db.Query(ctx, `SELECT DISTINCT location_id FROM inventory_positions`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var loc string
		if err := rows.Scan(&loc); err != nil {
			return nil, nil, err
		}
		known[loc] = true
	}
	slices.Sort(unmapped)
	return known, slices.Compact(unmapped), rows.Err()
}

// configuredLocation is a location the configuration names, and what names it.
type configuredLocation struct {
	id string
	by []string
}

// configuredLocations are the locations the channels and the push name, sorted.
func (c Config) configuredLocations() []configuredLocation {
	by := map[string][]string{}
	for name, ch := range c.Channels {
		for _, loc := range ch.Locations {
			by[loc] = append(by[loc], "channel "+name)
		}
	}
	for loc := range c.Push.Locations {
		by[loc] = append(by[loc], "the storefront push")
	}
	out := make([]configuredLocation, 0, len(by))
	for loc, names := range by {
		slices.Sort(names)
		out = append(out, configuredLocation{loc, names})
	}
	slices.SortFunc(out, func(a, b configuredLocation) int { return strings.Compare(a.id, b.id) })
	return out
}

// storeLocationMismatches records found and resolves the open mismatches of kinds it no longer
// holds (each caller sees the whole of the kinds it names).
func (s *Service) storeLocationMismatches(ctx context.Context, found []locationMismatch, kinds ...string) error {
	now := s.now().UTC()
	counts := map[string]int{}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		clear(counts)
		seen := map[[3]string]bool{}
		for _, m := range found {
			seen[[3]string{m.loc, m.kind, m.system}] = true
			if _, err := tx.Exec(ctx, `INSERT INTO inventory_location_mismatches (location_id, kind, system, detail, first_seen_at, last_seen_at)
				VALUES ($1, $2, $3, $4, $5, $5)
				ON CONFLICT (location_id, kind, system) DO UPDATE SET detail = excluded.detail, last_seen_at = excluded.last_seen_at,
					resolved_at = NULL, first_seen_at = CASE WHEN inventory_location_mismatches.resolved_at IS NULL
						THEN inventory_location_mismatches.first_seen_at ELSE excluded.first_seen_at END`,
				m.loc, m.kind, m.system, m.detail, now); err != nil {
				return err
			}
		}
		for k := range seen {
			counts[k[1]]++
		}
		return resolveLocationMismatches(ctx, tx, seen, kinds, now)
	})
	if err != nil {
		return err
	}
	for _, k := range kinds {
		s.metrics.mismatches.WithLabelValues(k).Set(float64(counts[k]))
	}
	return nil
}

func resolveLocationMismatches(ctx context.Context, tx *store.Tx, seen map[[3]string]bool, kinds []string, now time.Time) error {
	rows, err := tx.Query(ctx, `SELECT location_id, kind, system FROM inventory_location_mismatches WHERE resolved_at IS NULL`)
	if err != nil {
		return err
	}
	var stale [][3]string
	for rows.Next() {
		var k [3]string
		if err := rows.Scan(&k[0], &k[1], &k[2]); err != nil {
			rows.Close()
			return err
		}
		if slices.Contains(kinds, k[1]) && !seen[k] {
			stale = append(stale, k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range stale {
		if _, err := tx.Exec(ctx, `UPDATE inventory_location_mismatches SET resolved_at = $1
			WHERE location_id = $2 AND kind = $3 AND system = $4`, now, k[0], k[1], k[2]); err != nil {
			return err
		}
	}
	return nil
}

// checkLocationsOnce runs the check at start, as bulk work; a failure is logged (the next item
// master refresh runs it again).
func (s *Service) checkLocationsOnce(ctx context.Context) {
	res, err := s.CheckLocations(governor.WithPriority(ctx, governor.Bulk))
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.WarnContext(ctx, "location check failed; the next item master refresh runs it again", "error", err)
	case len(res.Unknown) > 0 || len(res.Unmapped) > 0:
		s.log.WarnContext(ctx, "configured locations no source knows, or ERP locations the location map lacks",
			"unknown", res.Unknown, "unmapped_erp_locations", res.Unmapped)
	}
}

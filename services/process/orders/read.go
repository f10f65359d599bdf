package orders

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/pkg/store"
)

// initStore sets up the order store when deps carry a database: its tables, metrics and clock.
func (s *Service) initStore(cfg StoreConfig, deps Deps) error {
	s.now, s.scfg, s.inFlight = deps.Now, cfg, map[string]int{}
	s.ties, s.tiesDue = make(chan string, tieQueue), map[string]bool{}
	s.metrics = newStoreMetrics(deps.Registerer, s.watermarkSeen, deps.Now)
	if deps.DB == nil {
		return nil
	}
	if deps.JetStream == nil {
		return errors.New("orders deps: JetStream required with DB (the store is fed by commerce events)")
	}
	ctx := context.Background()
	if err := events.Migrate(ctx, deps.DB); err != nil {
		return fmt.Errorf("orders: migrate: %w", err)
	}
	if err := migrateStore(ctx, deps.DB); err != nil {
		return fmt.Errorf("orders: migrate: %w", err)
	}
	s.db, s.store = deps.DB, &orderStore{db: deps.DB, now: deps.Now}
	if wm, ok, err := s.store.watermark(ctx, pollWatermark); err == nil && ok {
		s.wm = wm
	}
	_, s.swept, _ = s.store.watermark(ctx, sweptMark)
	return nil
}

// runStore feeds the store from the commerce events and runs the repair poller until ctx ends.
func (s *Service) runStore(ctx context.Context) error {
	if _, err := events.EnsureStream(ctx, s.js, "commerce", events.StreamOptions{}); err != nil {
		return err
	}
	if _, err := events.EnsureDeadLetterStream(ctx, s.js, events.StreamOptions{}); err != nil {
		return err
	}
	feed, err := s.newFeed()
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return feed.Run(ctx) })
	g.Go(func() error { return s.pollLoop(ctx) })
	g.Go(func() error { return s.readTies(ctx) })
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// getStored answers GetOrder from the store: no vendor call for an order the store holds. An
// order it does not hold is read once from the platform (fallback) and kept.
func (s *Service) getStored(ctx context.Context, p auth.Principal, id string) (*ordersv1.GetOrderResponse, error) {
	so, ok, err := s.cachedGet(ctx, id)
	if err != nil {
		return nil, errs.Wrap(err, errs.Unavailable, "order_store_unavailable", "the order store cannot be read")
	}
	if !ok {
		if so, err = s.fallback(ctx, p, id); err != nil {
			return nil, err
		}
	}
	switch o := so.order; {
	case p.IsCustomer() && (p.Subject == "" || o.GetCustomer().GetId() != p.Subject):
		return nil, errOrderNotFound()
	case p.Audience == auth.Partner && !s.tenants.Owns(p.Tenant, o.GetSource()):
		return nil, errOrderNotFound()
	}
	s.metrics.lag.Observe(s.lag(so.confirmedAt))
	return &ordersv1.GetOrderResponse{Order: so.order, AsOf: timestamppb.New(so.confirmedAt)}, nil
}

// caller names whose share of fallback reads a request spends.
func caller(p auth.Principal) string {
	switch {
	case p.Audience == auth.Partner:
		return "partner:" + p.Tenant
	case p.IsCustomer():
		return "customer:" + p.Subject
	}
	return string(p.Audience)
}

// fallback reads an order the store does not hold from the platform, once however many ask at
// the same time (single flight), and keeps it. Each caller has at most FallbackPerTenant reads
// in flight; past that it is refused (429) rather than queued, so unknown ids from one caller
// cannot use up the platform's budget that serves everyone else.
func (s *Service) fallback(ctx context.Context, p auth.Principal, id string) (storedOrder, error) {
	release, err := s.acquire(p)
	if err != nil {
		return storedOrder{}, err
	}
	defer release()
	v, err, _ := s.flight.Do(id, func() (any, error) { return s.readThrough(context.WithoutCancel(ctx), id) })
	if err != nil {
		return storedOrder{}, err
	}
	return v.(storedOrder), nil
}

// acquire takes one of the caller's FallbackPerTenant lookup slots, or refuses at once (429).
func (s *Service) acquire(p auth.Principal) (release func(), err error) {
	who := caller(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[who] >= s.scfg.FallbackPerTenant {
		s.metrics.fallbacks.WithLabelValues("refused").Inc()
		return nil, errs.E(errs.ResourceExhausted, "order_lookups_exhausted",
			"too many lookups of unknown orders at once; retry shortly").WithRetryAfter(time.Second)
	}
	s.inFlight[who]++
	return func() {
		s.mu.Lock()
		s.inFlight[who]--
		s.mu.Unlock()
	}, nil
}

// readThrough reads one order from the platform and stores it as a version seen by a read.
func (s *Service) readThrough(ctx context.Context, id string) (storedOrder, error) {
	o, _, err := s.storeRead(ctx, id, "read")
	switch {
	case status.Code(err) == codes.NotFound:
		s.metrics.fallbacks.WithLabelValues("not_found").Inc()
		return storedOrder{}, errOrderNotFound()
	case err != nil:
		s.metrics.fallbacks.WithLabelValues("error").Inc()
		return storedOrder{}, err
	}
	s.metrics.fallbacks.WithLabelValues("stored").Inc()
	so, ok, err := s.store.get(ctx, o.GetId())
	if err != nil || !ok {
		return storedOrder{order: o, confirmedAt: s.now()}, nil
	}
	return so, nil
}

// storeRead reads id from the platform and stores it as a version seen by a read (eventID says
// why it was read); changed reports whether the version in force changed. The platform's
// statuses (NOT_FOUND among them) pass through as they came.
func (s *Service) storeRead(ctx context.Context, id, eventID string) (o *canonicalv1.Order, changed bool, err error) {
	resp, err := s.commerce.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: id})
	if err != nil {
		return nil, false, err
	}
	if o = resp.GetOrder(); o == nil {
		return nil, false, errs.E(errs.Internal, "commerce_empty_order", "the commerce platform returned no order")
	}
	changed, err = s.store.put(ctx, version{orderID: o.GetId(), order: o, kind: kindUpdated, via: viaRead,
		updatedAt: o.GetUpdatedAt().AsTime(), eventID: eventID})
	if err != nil {
		return nil, false, errs.Wrap(err, errs.Unavailable, "order_store_unavailable", "the order store cannot be written")
	}
	s.metrics.versions.WithLabelValues(viaRead, appliedLabel(changed)).Inc()
	return o, changed, nil
}

// listCursor is a page token of the store: the last row of the previous page, and the listing
// it belongs to.
type listCursor struct {
	Listing string `json:"l"`
	At      int64  `json:"t"` // created_us (listing) or changed_us (feed)
	ID      string `json:"i"`
}

// Reading a listing whole: page size and each page's deadline.
const (
	listingPageSize    = 20
	listingPageTimeout = 30 * time.Second
)

// storeTokenPrefix marks the store's page tokens ("." is not in base64url), so a token the
// platform issued for a page read before the listing was held whole still pages on there.
const storeTokenPrefix = "s."

func (c listCursor) encode() string {
	b, _ := json.Marshal(c)
	return storeTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(token, listing string) (listCursor, error) {
	var c listCursor
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, storeTokenPrefix))
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Listing != listing {
		return c, errs.E(errs.Invalid, "invalid_page_token", "the page token is not valid for this listing").
			WithFields(errs.FieldViolation{Field: "page_token", Description: "not a token from a previous page of this listing"})
	}
	return c, nil
}

// listStored answers ListOrders from the store. ok is false without a store, or for a listing
// the store does not hold whole yet (listingWhole): the caller lists from the platform instead.
// A change feed (changed_since) needs the store.
func (s *Service) listStored(ctx context.Context, customerID string, sources []string, size int32, req *ordersv1.ListOrdersRequest) (*ordersv1.ListOrdersResponse, bool, error) {
	feed := req.GetChangedSince() != nil
	if s.db == nil {
		if feed {
			return nil, false, errs.E(errs.Unimplemented, "order_store_disabled", "changed_since needs the order store")
		}
		return nil, false, nil
	}
	if !feed {
		if t := req.GetPageToken(); t != "" && !strings.HasPrefix(t, storeTokenPrefix) {
			return nil, false, nil // a listing begun on the platform pages on there
		}
		whole, err := s.listingWhole(ctx, customerID, sources)
		if err != nil || !whole {
			return nil, false, err
		}
	}
	if feed && !req.GetChangedSince().IsValid() {
		return nil, false, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "changed_since", Description: "not a valid time"})
	}
	listing := fmt.Sprintf("%t\x00%s\x00%s", feed, customerID, strings.Join(sources, ","))
	cur := listCursor{Listing: listing}
	if feed {
		cur.At = req.GetChangedSince().AsTime().UnixMicro()
	}
	if t := req.GetPageToken(); t != "" {
		c, err := decodeCursor(t, listing)
		if err != nil {
			return nil, false, err
		}
		cur = c
	}
	q, args := s.listSQL(customerID, sources, feed, int(size)+1, cur)
	rows, err := s.cachedQuery(ctx, q, args, !feed)
	if err != nil {
		return nil, false, errs.Wrap(err, errs.Unavailable, "order_store_unavailable", "the order store cannot be read")
	}
	return s.page(rows, int(size), feed, cur), true, nil
}

// page turns rows (one more than size when there is a next page) into an answer.
func (s *Service) page(rows []storedOrder, size int, feed bool, cur listCursor) *ordersv1.ListOrdersResponse {
	resp := &ordersv1.ListOrdersResponse{}
	more := len(rows) > size
	rows = rows[:min(len(rows), size)]
	asOf := s.now()
	for _, so := range rows {
		resp.Orders = append(resp.Orders, so.order)
		if so.confirmedAt.Before(asOf) {
			asOf = so.confirmedAt
		}
		s.metrics.lag.Observe(s.lag(so.confirmedAt))
	}
	resp.AsOf = timestamppb.New(asOf)
	if n := len(rows); n > 0 {
		last := rows[n-1]
		cur.ID, cur.At = last.order.GetId(), last.order.GetCreatedAt().AsTime().UnixMicro()
		if feed {
			cur.At = last.changedAt.UnixMicro()
		}
	}
	// A feed's token always resumes after the last change seen: a partner keeps it and polls
	// again; an empty page means nothing newer yet.
	if more || feed {
		resp.NextPageToken = cur.encode()
	}
	return resp
}

// listSQL builds the listing query: newest first by created_at, or, for a feed, oldest change
// first, held back by FeedSettle.
func (s *Service) listSQL(customerID string, sources []string, feed bool, limit int, cur listCursor) (string, []any) {
	var where []string
	var args []any
	if customerID != "" {
		args = append(args, customerID)
		where = append(where, fmt.Sprintf("customer_id = $%d", len(args)))
	}
	if len(sources) > 0 {
		where = append(where, in("source", slices.Clone(sources), &args))
	}
	col, cmp, order := "created_us", "<", "DESC"
	if feed {
		col, cmp, order = "changed_us", ">", "ASC"
		args = append(args, s.now().Add(-s.scfg.FeedSettle).UnixMicro())
		where = append(where, fmt.Sprintf("changed_us <= $%d", len(args)))
	}
	if cur.ID != "" || feed {
		args = append(args, cur.At, cur.ID)
		n := len(args)
		where = append(where, fmt.Sprintf("(%s %s $%d OR (%s = $%d AND order_id %s $%d))", col, cmp, n-1, col, n-1, cmp, n))
	}
	q := `SELECT ` + storedColumns + ` FROM order_store`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s %s, order_id %s LIMIT %d", col, order, order, limit)
	return q, args
}

// listingWhole reports whether the store holds a listing (a customer's orders, a partner's
// channels' orders, or both) whole: after a Backfill sweep, or once it has been read whole from
// the platform; from then on webhooks and the poll keep it whole. When it does not, a read of the
// whole listing starts in the background — once however many ask (single flight), within the
// caller's lookup bound — and this answer comes from the platform as before, so the first
// listing is no slower than it was.
func (s *Service) listingWhole(ctx context.Context, customerID string, sources []string) (bool, error) {
	s.mu.Lock()
	swept := s.swept
	s.mu.Unlock()
	if swept {
		return true, nil
	}
	mark := listingPrefix + customerID + "|" + strings.Join(sources, ",")
	if _, ok := s.whole.Load(mark); ok {
		return true, nil // a listing once whole stays whole: no query to know it again
	}
	if _, ok, err := s.store.watermark(ctx, mark); err != nil || ok {
		if ok {
			s.whole.Store(mark, struct{}{})
		}
		return ok, err
	}
	p, _ := auth.FromContext(ctx)
	release, err := s.acquire(p)
	if err != nil {
		return false, nil // the caller has lookups enough in flight; a later listing starts the read
	}
	bg := context.WithoutCancel(ctx)
	go func() {
		defer release()
		_, err, _ := s.flight.Do(mark, func() (any, error) { return nil, s.readListing(bg, customerID, sources, mark) })
		if err != nil {
			s.log.WarnContext(bg, "reading a listing whole into the order store failed; retried on a later listing", "err", err)
		}
	}()
	return false, nil
}

// readListing pages through a listing on the platform, keeps every order, and marks the listing
// whole. The mark is set at the time the read began, so a change during the read is also found
// by the poll.
func (s *Service) readListing(ctx context.Context, customerID string, sources []string, mark string) error {
	began := s.now()
	token := ""
	for {
		// Pages of 20 full orders, each with its own deadline: the listing may be long, and the
		// request that started it is not waiting.
		pctx, cancel := context.WithTimeout(ctx, listingPageTimeout)
		resp, err := s.commerce.ListOrders(pctx, &commercev1.ListOrdersRequest{CustomerId: customerID, Sources: sources,
			PageSize: listingPageSize, PageToken: token})
		cancel()
		if status.Code(err) == codes.NotFound {
			break // an unknown customer has no orders
		}
		if err != nil {
			return err
		}
		for _, o := range resp.GetOrders() {
			changed, err := s.store.put(ctx, version{orderID: o.GetId(), order: o, kind: kindUpdated, via: viaRead,
				updatedAt: o.GetUpdatedAt().AsTime(), eventID: "list"})
			if err != nil {
				return errs.Wrap(err, errs.Unavailable, "order_store_unavailable", "the order store cannot be written")
			}
			s.metrics.versions.WithLabelValues(viaRead, appliedLabel(changed)).Inc()
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	s.metrics.fallbacks.WithLabelValues("listing").Inc()
	return s.store.setWatermark(ctx, mark, began)
}

// storeTables are what the store's reads read. Every write to the order store goes through this
// service's database handle (orderStore), so on SQLite, where this process is the only writer, a
// read served from pkg/store's read cache is exact: the cache drops every answer the moment a
// write naming the table commits, and never keeps one read before a write it did not see. A warm
// read then costs neither a query nor decoding the stored protojson (a third of an order list's
// CPU). On PostgreSQL, with replicas writing, Cached reads the database every time.
var storeTables = []string{"order_store"}

// cachedOrder is one order read from the store, or that the store does not hold it.
type cachedOrder struct {
	so storedOrder
	ok bool
}

// cachedGet is orderStore.get through the read cache. The answer is shared: callers must not
// modify it (GetOrder's answer is serialised, never changed).
func (s *Service) cachedGet(ctx context.Context, id string) (storedOrder, bool, error) {
	c, err := store.Cached(ctx, s.db, "orders.store.get", id, storeTables, func(ctx context.Context) (cachedOrder, error) {
		so, ok, err := s.store.get(ctx, id)
		return cachedOrder{so, ok}, err
	})
	return c.so, c.ok, err
}

// cachedQuery is orderStore.query through the read cache when cache is set, keyed by the query
// and its arguments. A feed's query is not cached: its arguments hold the time of the request.
func (s *Service) cachedQuery(ctx context.Context, q string, args []any, cache bool) ([]storedOrder, error) {
	if !cache {
		return s.store.query(ctx, q, args...)
	}
	var key strings.Builder
	key.WriteString(q)
	for _, a := range args {
		key.WriteByte(0)
		key.WriteString(strconv.Quote(fmt.Sprint(a))) // quoted: no two argument lists share a key
	}
	return store.Cached(ctx, s.db, "orders.store.list", key.String(), storeTables, func(ctx context.Context) ([]storedOrder, error) {
		rows, err := s.store.query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		// Pages share their orders with each other and with GetOrder's cache: however many page
		// sizes and cursors are cached, each order is held decoded once per change of the store
		// (a listing cycling page_size costs its pages' slices, not copies of its orders).
		for i, so := range rows {
			c, err := store.Cached(ctx, s.db, "orders.store.get", so.order.GetId(), storeTables, func(context.Context) (cachedOrder, error) {
				return cachedOrder{so, true}, nil
			})
			if err == nil && c.ok {
				rows[i] = c.so
			}
		}
		return rows, nil
	})
}

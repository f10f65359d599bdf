package orders

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// Defaults for StoreConfig fields left zero.
const (
	DefaultPollInterval      = time.Minute
	DefaultPollOverlap       = 2 * time.Minute
	DefaultPollPageSize      = 100
	DefaultFallbackPerTenant = 4
	DefaultFeedSettle        = 2 * time.Second
)

// StoreConfig configures the order store, its repair poller and its reads.
type StoreConfig struct {
	// PollInterval is how often the repair poller reads the orders changed since its watermark
	// (RB_ORDER_POLL_INTERVAL); default 1m. A change whose webhook never arrives is in the store
	// within PollInterval plus one sweep.
	PollInterval time.Duration
	// PollOverlap is how far behind its watermark each poll starts again, to cover clock skew
	// between the platform's updated_at and its search index (RB_ORDER_POLL_OVERLAP); default 2m.
	PollOverlap time.Duration
	// PollPageSize is the page size of the poll (1..250); default 100.
	PollPageSize int
	// FallbackPerTenant caps the vendor reads of unknown orders one caller (a partner tenant, a
	// customer, support) may have in flight; more answer 429 at once, so one caller cannot
	// spend another's share of the platform's budget. Default 4.
	FallbackPerTenant int
	// Backfill makes the first poll (no watermark yet) sweep the whole shop, oldest change first
	// (RB_ORDER_BACKFILL). It reads every order, so it costs the shop's budget (at bulk
	// priority); without it the store fills by listing and by reading unknown orders once.
	Backfill bool
	// FeedSettle holds changes younger than this out of the partner feed (changed_since), so a
	// change committed a moment after a later one is not skipped by a cursor. Default 2s.
	FeedSettle time.Duration
}

func (c StoreConfig) withDefaults() StoreConfig {
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.PollOverlap == 0 {
		c.PollOverlap = DefaultPollOverlap
	}
	if c.PollPageSize == 0 {
		c.PollPageSize = DefaultPollPageSize
	}
	if c.FallbackPerTenant == 0 {
		c.FallbackPerTenant = DefaultFallbackPerTenant
	}
	if c.FeedSettle == 0 {
		c.FeedSettle = DefaultFeedSettle
	}
	return c
}

// validate names every bad field.
func (c StoreConfig) validate() []string {
	var bad []string
	if c.PollInterval < 0 {
		bad = append(bad, "Store.PollInterval: must not be negative")
	}
	if c.PollOverlap < 0 {
		bad = append(bad, "Store.PollOverlap: must not be negative")
	}
	if c.PollPageSize < 0 || c.PollPageSize > 250 {
		bad = append(bad, fmt.Sprintf("Store.PollPageSize: must be between 1 and 250, got %d", c.PollPageSize))
	}
	if c.FallbackPerTenant < 0 {
		bad = append(bad, "Store.FallbackPerTenant: must not be negative")
	}
	if c.FeedSettle < 0 {
		bad = append(bad, "Store.FeedSettle: must not be negative")
	}
	return bad
}

// storeMetrics are the order store's instruments.
type storeMetrics struct {
	lag       prometheus.Histogram     // now − last vendor confirmation of each order served
	versions  *prometheus.CounterVec   // versions received by via and result (applied, kept)
	fallbacks *prometheus.CounterVec   // vendor reads of orders the store did not hold, by result
	ties      *prometheus.CounterVec   // re-reads of orders whose webhook tied with the version held, by result
	watermark prometheus.GaugeFunc     // age of the poller's watermark
	wmAt      func() (time.Time, bool) // what watermark reports
}

func newStoreMetrics(reg prometheus.Registerer, wm func() (time.Time, bool), now func() time.Time) *storeMetrics {
	m := &storeMetrics{
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "retailbridge_order_store_freshness_lag_seconds",
			Help:    "Age of the last vendor confirmation of each order a read served (now − as_of).",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 900, 3600, 21600, 86400},
		}),
		versions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_order_store_versions_total",
			Help: "Order versions received by the store, by how (webhook, poll, read) and result (applied, kept).",
		}, []string{"via", "result"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_order_store_vendor_reads_total",
			Help: "Vendor reads of orders the store did not hold, by result (stored, not_found, refused, error).",
		}, []string{"result"}),
		ties: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_order_store_tie_reads_total",
			Help: "Vendor re-reads of orders whose webhook carried the held updated_at with other content, by result (applied, kept, dropped, error).",
		}, []string{"result"}),
	}
	m.watermark = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "retailbridge_order_store_poll_watermark_age_seconds",
		Help: "How far the repair poller's watermark (the vendor updated_at read up to) is behind now.",
	}, func() float64 {
		at, ok := wm()
		if !ok {
			return -1
		}
		return now().Sub(at).Seconds()
	})
	if reg != nil {
		for _, c := range []prometheus.Collector{m.lag, m.versions, m.fallbacks, m.ties, m.watermark} {
			_ = reg.Register(c) // a second service in one process (tests) keeps the first's instruments
		}
	}
	return m
}

// storeSide is what the order store adds to the Service: embedded, so service.go stays as it was.
type storeSide struct {
	db      *store.DB // nil: no store; reads go to the commerce platform as before
	store   *orderStore
	now     func() time.Time
	scfg    StoreConfig
	metrics *storeMetrics
	flight  singleflight.Group
	whole   sync.Map // listing marks known whole (they never revert)

	mu       sync.Mutex
	inFlight map[string]int // vendor reads in flight per caller
	wm       time.Time      // last watermark the poller stored (zero before the first poll)
	swept    bool           // a Backfill sweep completed: every listing is in the store

	ties    chan string     // orders to re-read because a webhook tied with the held version
	tiesDue map[string]bool // orders queued in ties (one read each however many ties)
}

func (ss *storeSide) watermarkSeen() (time.Time, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.wm, !ss.wm.IsZero()
}

package telemetry

import "github.com/prometheus/client_golang/prometheus"

// Business holds the business KPIs, next to the RED metrics of Metrics. Every label takes values
// from a closed set (a return method, a vendor name from the registry, a workflow state, a
// consumer name, an outcome word), never an id, so the series count stays bounded whatever
// the traffic.
type Business struct {
	// ReturnAuthorisation is the time from a return's request to its RMA in the ERP (or to the
	// failure that ended it), by channel (the return method) and outcome (authorised, failed).
	ReturnAuthorisation *prometheus.HistogramVec
	// RefundCycle is the time from a return's request to its refund being recorded everywhere,
	// by channel and outcome (refunded, settled_outside).
	RefundCycle *prometheus.HistogramVec
	// OrderProcessing is the time from an order's arrival to its final state, by channel (the
	// order's sales channel, a closed set) and outcome (completed, cancelled,
	// failed_needs_attention): order processing latency.
	OrderProcessing *prometheus.HistogramVec
	// ERPPostings counts ERP postings (RMA, item receipt, credit memo, inventory adjustment) by
	// document and outcome (ok, retry, failed).
	ERPPostings *prometheus.CounterVec
	// Exceptions counts returns that entered a state for people, by channel and kind
	// (exception, failed_needs_attention).
	Exceptions *prometheus.CounterVec
	// Replays counts dead-letter replays by consumer, outcome and whether it was a dry run.
	Replays *prometheus.CounterVec
	// WebhookSignatureFailures counts vendor deliveries refused for their signature, by vendor.
	WebhookSignatureFailures *prometheus.CounterVec
	// VendorThrottled counts vendor answers that asked us to slow down (429, or 503 with
	// Retry-After), by vendor and status.
	VendorThrottled *prometheus.CounterVec
	// StepFailures counts workflow step attempts that failed, by workflow kind, step and
	// outcome (retry, failed).
	StepFailures *prometheus.CounterVec
}

// businessBuckets span seconds to weeks: a return is authorised in seconds, refunded in days.
var businessBuckets = []float64{1, 5, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 2 * 86400, 4 * 86400, 7 * 86400, 14 * 86400, 30 * 86400}

func newBusiness(reg prometheus.Registerer) *Business {
	b := &Business{
		ReturnAuthorisation: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "retailbridge_return_authorisation_seconds", Help: "Time from a return's request to its RMA (return authorisation turnaround).",
			Buckets: businessBuckets,
		}, []string{"channel", "outcome"}),
		RefundCycle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "retailbridge_refund_cycle_seconds", Help: "Time from a return's request to its refund recorded everywhere (refund cycle time).",
			Buckets: businessBuckets,
		}, []string{"channel", "outcome"}),
		OrderProcessing: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "retailbridge_order_processing_seconds", Help: "Time from an order's arrival to its final state (order processing latency).",
			Buckets: businessBuckets,
		}, []string{"channel", "outcome"}),
		ERPPostings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_erp_postings_total", Help: "ERP postings by document and outcome.",
		}, []string{"document", "outcome"}),
		Exceptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_exceptions_total", Help: "Returns that entered a state for people, by channel and kind.",
		}, []string{"channel", "kind"}),
		Replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_dlq_replays_total", Help: "Dead-letter replays by consumer, outcome and dry run.",
		}, []string{"consumer", "outcome", "dry_run"}),
		WebhookSignatureFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_webhook_signature_failures_total", Help: "Vendor webhook deliveries refused for their signature.",
		}, []string{"vendor"}),
		VendorThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_vendor_throttled_total", Help: "Vendor answers asking us to slow down (429, 503 with Retry-After).",
		}, []string{"vendor", "status"}),
		StepFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_workflow_step_failures_total", Help: "Failed workflow step attempts by kind, step and outcome.",
		}, []string{"kind", "step", "outcome"}),
	}
	reg.MustRegister(b.ReturnAuthorisation, b.RefundCycle, b.OrderProcessing, b.ERPPostings, b.Exceptions, b.Replays,
		b.WebhookSignatureFailures, b.VendorThrottled, b.StepFailures)
	return b
}

// Throttled reports whether a vendor's status (and Retry-After header) asks us to slow down.
func Throttled(status int, retryAfter string) bool {
	return status == 429 || (status == 503 && retryAfter != "")
}

package telemetry_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// knownSeries is every series name the code exports: the shared instruments (histograms with
// their _bucket, _sum and _count) and the scrape-time collectors.
func knownSeries(t *testing.T) map[string]bool {
	t.Helper()
	m := telemetry.NewMetrics()
	descs := make(chan *prometheus.Desc, 64)
	go func() {
		m.Registry.Describe(descs)
		workflow.NewCollector(nil, "return", nil).Describe(descs)
		events.NewDepthCollector(nil).Describe(descs)
		close(descs)
	}()
	nameRE := regexp.MustCompile(`fqName: "([^"]+)"`)
	known := map[string]bool{}
	add := func(name string) {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			known[name+suffix] = true
		}
	}
	for d := range descs {
		if mm := nameRE.FindStringSubmatch(d.String()); mm != nil {
			add(mm[1])
		}
	}
	// Services declare their own instruments (the inventory ledger's, say); pkg/ may not import
	// services, so their declarations are read from the source.
	declRE := regexp.MustCompile(`(?:Name:\s*|NewDesc\()"(retailbridge_[a-z_]+)"`)
	err := filepath.WalkDir("../../services", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		for _, mm := range declRE.FindAllStringSubmatch(string(src), -1) {
			add(mm[1])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return known
}

var seriesRE = regexp.MustCompile(`\bretailbridge_[a-z_]+\b`)

// checkExpr fails when expr names a retailbridge series the code does not export.
func checkExpr(t *testing.T, known map[string]bool, where, expr string) {
	t.Helper()
	names := seriesRE.FindAllString(expr, -1)
	if len(names) == 0 {
		t.Errorf("%s: expression names no retailbridge series: %s", where, expr)
	}
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s: %s is not exported by the code", where, n)
		}
	}
}

type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
		Query string `json:"query"`
	} `json:"targets"`
}

// The Grafana dashboard is well formed (the dashboard model's required fields, unique panel
// ids, panels inside the 24-column grid, datasources that are template variables) and every
// Prometheus query names series the code exports. Grafana's JSON schema is not available
// offline, so these are the model's rules written out.
func TestDashboardQueriesExportedSeries(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/retailbridge.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 30 || len(d.Panels) == 0 {
		t.Fatalf("dashboard lacks title, uid, a current schemaVersion or panels: %q %q %d %d", d.Title, d.UID, d.SchemaVersion, len(d.Panels))
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, "${"+v.Name+"}")
	}
	known, ids, queries := knownSeries(t), map[int]bool{}, 0
	for _, p := range d.Panels {
		where := p.Title
		if p.ID == 0 || ids[p.ID] {
			t.Errorf("%s: panel id %d missing or repeated", where, p.ID)
		}
		ids[p.ID] = true
		if p.Title == "" || p.Type == "" || p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H < 1 {
			t.Errorf("panel %d: title, type or grid position invalid: %+v", p.ID, p)
		}
		if p.Type == "row" {
			continue
		}
		if !slices.Contains(vars, p.Datasource.UID) {
			t.Errorf("%s: datasource %q is not a template variable (%v)", where, p.Datasource.UID, vars)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no query", where)
		}
		for _, tg := range p.Targets {
			switch p.Datasource.Type {
			case "prometheus":
				queries++
				checkExpr(t, known, where, tg.Expr)
			case "tempo":
				if !strings.Contains(tg.Query, "retailbridge") {
					t.Errorf("%s: trace query %q does not select retailbridge", where, tg.Query)
				}
			default:
				t.Errorf("%s: unexpected datasource type %q", where, p.Datasource.Type)
			}
		}
	}
	// Every business KPI appears on the dashboard.
	for _, kpi := range []string{"retailbridge_return_authorisation_seconds_bucket", "retailbridge_refund_cycle_seconds_bucket", "retailbridge_order_processing_seconds_bucket",
		"retailbridge_erp_postings_total", "retailbridge_exceptions_total", "retailbridge_dlq_depth", "retailbridge_dlq_replays_total",
		"retailbridge_webhook_signature_failures_total", "retailbridge_vendor_throttled_total", "retailbridge_workflows_open",
		"retailbridge_workflow_oldest_seconds"} {
		if !strings.Contains(string(raw), kpi) {
			t.Errorf("no panel shows %s", kpi)
		}
	}
	t.Logf("%d panels, %d Prometheus queries checked against %d exported series names", len(d.Panels), queries, len(known))
}

// Every alerting rule names series the code exports and links a runbook that exists.
func TestAlertRulesQueryExportedSeries(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	known, n := knownSeries(t), 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			checkExpr(t, known, r.Alert, r.Expr)
			rb := r.Annotations["runbook_url"]
			if _, err := os.Stat("../../" + rb); rb == "" || err != nil {
				t.Errorf("%s: runbook %q does not exist", r.Alert, rb)
			}
		}
	}
	if n == 0 {
		t.Fatal("no alerting rules")
	}
}

package e2e

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// axeSource is axe-core 4.14.1 (testdata/axe-core, MPL-2.0), injected into each page checked.
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

var updateScreenshots = flag.Bool("update-screenshots", false, "write the console test's screenshots to docs/screenshots")

// consoleScenario is the data the browser test finds: a return awaiting inspection, one in
// exception, one refunded (KPI data) and a dead letter.
type consoleScenario struct {
	awaiting, exception, refunded string
	deadLetter                    string
}

// chromium is the browser the test drives: RB_TEST_CHROMIUM (scripts/with-chromium.sh) or
// chromium on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RB_TEST_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run the tests with `make test` (scripts/with-chromium.sh installs it)")
	}
	return p
}

// consoleStack starts the stack with the console's development login, parcels moved by the
// test, and a KPI sampler fast enough to draw a line within the test.
func consoleStack(t *testing.T) *harness {
	t.Helper()
	return newStackWith(t, func(o *stack.Options) {
		o.FastVendors, o.ManualParcels, o.ConsoleDevLogin = true, true, true
		o.SandboxSettings = map[string]any{"warehouse": warehousesb.Outcomes{Resellable: 1}}
	})
}

// seedConsole creates the scenario through the public API and the warehouse sandbox.
func seedConsole(t *testing.T, h *harness) consoleScenario {
	t.Helper()
	agent := h.supportToken(t, "seed", "support:read")
	lines := h.eligibleLines(t, 3)
	var ids, receipts []string
	for i, l := range lines {
		resp := h.do(t, http.MethodPost, "/v1/storefront/returns", h.token(t, l.customer), createReturn(l.order, l.line, 1),
			"Idempotency-Key", fmt.Sprintf("console-%d", i))
		if resp.Status != http.StatusOK {
			t.Fatalf("create: %d %s", resp.Status, resp.Body)
		}
		var r returnJSON
		resp.JSON(t, &r)
		r = h.waitAny(t, agent, "/v1/support/returns/"+r.Return.ID, "awaiting_parcel")
		ids, receipts = append(ids, r.Return.ID), append(receipts, r.Return.ExternalIDs["wms"])
		if err := h.Warehouse.Receive(r.Return.ExternalIDs["wms"]); err != nil {
			t.Fatal(err)
		}
		h.waitAny(t, agent, "/v1/support/returns/"+r.Return.ID, "awaiting_inspection")
	}
	if err := h.Warehouse.Inspect(receipts[1], map[int]string{1: warehousesb.ConditionWrongOrMissing}); err != nil {
		t.Fatal(err)
	}
	if err := h.Warehouse.Inspect(receipts[2], map[int]string{1: warehousesb.ConditionResellable}); err != nil {
		t.Fatal(err)
	}
	h.waitAny(t, agent, "/v1/support/returns/"+ids[1], "exception")
	h.waitAny(t, agent, "/v1/support/returns/"+ids[2], "refunded")
	return consoleScenario{awaiting: ids[0], exception: ids[1], refunded: ids[2], deadLetter: poison(t, h)}
}

// poison publishes an event nobody can read and waits for its dead letter.
func poison(t *testing.T, h *harness) string {
	t.Helper()
	ctx := context.Background()
	nc, err := nats.Connect(h.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ev := &canonicalv1.Event{Id: "console-poison-1", Source: "test", Type: "retailbridge.wms.return.inspected.v1",
		Subject: "return/ret_nobody", CorrelationId: "corr-console-poison", Time: timestamppb.Now(),
		Data: &anypb.Any{TypeUrl: "type.googleapis.com/nobody.Knows", Value: []byte{1, 2, 3}}}
	if _, err := events.Publish(ctx, js, ev); err != nil {
		t.Fatal(err)
	}
	// Every consumer of the warehouse's events dead-letters it (the inventory ledger's too); the
	// console follows the returns workflow's.
	var id string
	dl := events.NewDeadLetters(nil, js, nil)
	testkit.Eventually(t, 20*time.Second, "the poison event is dead-lettered", func() bool {
		letters, err := dl.List(ctx, events.ListOptions{Consumer: "returns-from-wms"})
		if err != nil || len(letters) == 0 {
			return false
		}
		id = fmt.Sprint(letters[0].ID)
		return true
	})
	return id
}

// browser starts headless chromium; each tab is a separate browser context (its own cookies),
// like a separate person's browser.
type browser struct {
	t    *testing.T
	root context.Context
	base string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1200, 800))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	// Secure cookies need a secure context: http://localhost is one, http://127.0.0.1 is not
	// in every browser.
	return &browser{t: t, root: root, base: strings.Replace(base, "127.0.0.1", "localhost", 1)}
}

// tab opens a page in a new browser context.
func (b *browser) tab() context.Context {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	// The first run opens the tab, which lives as long as that run's context: no timeout here.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 800)); err != nil {
		b.t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

func (b *browser) run(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(actx, actions...); err != nil {
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		defer dcancel()
		loc, _ := chromedp.Run(dctx, chromedp.Location())
		body, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		b.t.Fatalf("%s: %v (at %s: %.800s)", what, err, loc, body)
	}
}

// eval evaluates a script (awaiting a promise) and returns its value.
func eval[T any](b *browser, ctx context.Context, what, js string) T {
	b.t.Helper()
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(actx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// signIn uses the development login.
func (b *browser) signIn(ctx context.Context, agent, role string) {
	b.t.Helper()
	b.run(ctx, "sign in as "+agent,
		chromedp.Navigate(b.base+"/console/login"),
		chromedp.WaitVisible(chromedp.ID("agent")),
		chromedp.SendKeys(chromedp.ID("agent"), agent),
		chromedp.SetValue(chromedp.ID("role"), role),
		chromedp.Click(chromedp.CSS(`form[action="/console/login/dev"] button`)),
		chromedp.WaitVisible(chromedp.CSS("form.logout")))
}

// submit clicks a form's button and waits for the page the action redirects to (its flash
// message; the old page's is removed first so it cannot be mistaken for the new one).
func (b *browser) submit(ctx context.Context, what string, button chromedp.CSS) {
	b.t.Helper()
	eval[bool](b, ctx, "clear the flash", `(document.querySelector("p.flash") || {remove(){}}).remove(), true`)
	b.run(ctx, what, chromedp.Click(button), chromedp.WaitVisible(chromedp.CSS("p.flash")))
}

// open navigates to a console path and waits for its heading.
func (b *browser) open(ctx context.Context, path string) string {
	b.t.Helper()
	b.run(ctx, "open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
	return b.text(ctx)
}

// text returns the main content's text.
func (b *browser) text(ctx context.Context) string {
	b.t.Helper()
	return eval[string](b, ctx, "read the page", `document.querySelector("main") ? document.querySelector("main").innerText : document.body.innerText`)
}

// axeViolation is what axe-core reports per broken rule.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// axe runs axe-core's WCAG 2.1 A and AA rules (labels, contrast, landmarks, names, …) on the
// current page: the violations and how many rules passed.
func (b *browser) axe(ctx context.Context, page string) ([]axeViolation, int) {
	b.t.Helper()
	eval[string](b, ctx, "inject axe-core", axeSource+";'ok'")
	raw := eval[string](b, ctx, "run axe-core on "+page,
		`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(r => JSON.stringify({v: r.violations, p: r.passes.length}))`)
	var res struct {
		V []axeViolation `json:"v"`
		P int            `json:"p"`
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		b.t.Fatalf("axe result: %v", err)
	}
	return res.V, res.P
}

// checkA11y fails on any axe-core violation on the current page; it returns how many rules
// passed.
func (b *browser) checkA11y(ctx context.Context, page string) int {
	b.t.Helper()
	vs, passed := b.axe(ctx, page)
	for _, v := range vs {
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, fmt.Sprint(n.Target...))
		}
		b.t.Errorf("accessibility (%s): %s [%s] %s at %v", page, v.ID, v.Impact, v.Help, targets)
	}
	return passed
}

// checkerCanFail plants an unlabelled field and low-contrast text and expects axe-core to name
// both: the checker is live, not a pass-through.
func (b *browser) checkerCanFail(ctx context.Context) {
	b.t.Helper()
	// Styles set through the CSSOM: the console's CSP refuses inline style attributes.
	eval[bool](b, ctx, "plant violations", `(() => { const m = document.querySelector("main");
		m.insertAdjacentHTML("beforeend", '<input id="planted-field"><p id="planted-text">faint text</p>');
		const p = document.getElementById("planted-text"); p.style.color = "#bbb"; p.style.background = "#fff"; return true })()`)
	vs, _ := b.axe(ctx, "planted violations")
	found := map[string]bool{}
	for _, v := range vs {
		found[v.ID] = true
	}
	if !found["label"] || !found["color-contrast"] {
		b.t.Errorf("axe-core missed planted violations: found %v, want label and color-contrast", found)
	}
}

// screenshot saves the viewport as a PNG: into docs/screenshots with -update-screenshots, else
// into the test's temporary directory.
func (b *browser) screenshot(ctx context.Context, name string) {
	b.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := b.t.TempDir()
	if *updateScreenshots {
		dir = filepath.Join("..", "docs", "screenshots")
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// post submits a form from inside the page (same origin, the page's cookies) and returns the
// status; a redirect (an action that ran) counts as 303.
func (b *browser) post(ctx context.Context, path string, form url.Values) int {
	b.t.Helper()
	js := fmt.Sprintf(`fetch(%q, {method: "POST", body: new URLSearchParams(%q), redirect: "manual"}).then(r => r.type === "opaqueredirect" ? 303 : r.status)`,
		path, form.Encode())
	return eval[int](b, ctx, "POST "+path, js)
}

// csrf reads the page's CSRF token (every signed-in page has the sign-out form).
func (b *browser) csrf(ctx context.Context) string {
	b.t.Helper()
	return eval[string](b, ctx, "read the CSRF token", `document.querySelector('form.logout input[name="csrf"]').value`)
}

// cookie is the browser's console session cookie.
func (b *browser) cookie(ctx context.Context) string {
	b.t.Helper()
	v, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (string, error) {
		r, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/console/"}})
		if err != nil {
			return "", err
		}
		for _, c := range r.Cookies {
			if c.Name == "rb_console" {
				return c.Value, nil
			}
		}
		return "", nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

// plantCookie sets the console cookie in the browser, as an attacker who fixes a session would.
func (b *browser) plantCookie(ctx context.Context, value string) {
	b.t.Helper()
	b.run(ctx, "plant a session cookie", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		yes := true
		_, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{Name: "rb_console", Value: value,
			URL: b.base + "/console/", Path: "/console", Secure: &yes, HTTPOnly: &yes})
		return err
	}))
}

// The console in a real browser: a supervisor signs in, finds the return awaiting inspection and
// its timeline, resolves an exception, replays a dead letter after a dry run, sees the KPI
// charts drawn from the scenario; a viewer without the scopes sees and does none of that; a
// forged form and a fixed session id are refused; every page passes axe-core's WCAG 2.1 AA
// rules and works from the keyboard.
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	h := consoleStack(t)
	sc := seedConsole(t, h)
	b := newBrowser(t, h.GatewayURL)

	ann := b.tab()
	b.open(ann, "/console/login")
	b.checkA11y(ann, "sign-in")
	b.signIn(ann, "ann", "supervisor")
	rules := b.checkA11y(ann, "overview")
	b.screenshot(ann, "console-overview")
	b.checkerCanFail(ann)
	consoleQueuesAndTimeline(t, b, ann, sc)
	consoleResolveException(t, b, h, ann, sc)
	consoleDeadLetter(t, b, ann, sc)
	consoleKPIs(t, b, ann)
	consoleViewer(t, b, h, sc)
	consoleCSRFAndFixation(t, b, h, ann, sc)
	consoleSLA(t, b, h, ann, sc)
	t.Logf("axe-core %s: %d rules passed on the overview page", "4.14.1", rules)
}

// consoleQueuesAndTimeline finds the return awaiting inspection in its queue and opens its timeline.
func consoleQueuesAndTimeline(t *testing.T, b *browser, ctx context.Context, sc consoleScenario) {
	page := b.open(ctx, "/console/queues/inspection")
	if !strings.Contains(page, sc.awaiting) || strings.Contains(page, sc.refunded) {
		t.Fatalf("awaiting-inspection queue: want %s and not %s:\n%s", sc.awaiting, sc.refunded, page)
	}
	b.checkA11y(ctx, "queue")
	b.screenshot(ctx, "console-awaiting-inspection")
	b.run(ctx, "open the return from the queue", chromedp.Click(chromedp.CSS(`a[href="/console/returns/`+sc.awaiting+`"]`)),
		chromedp.WaitVisible(chromedp.ID("timeline")))
	page = b.text(ctx)
	for _, want := range []string{"awaiting_inspection", "(attempt 1, key rb-", "→ ok", "wms", "erp"} {
		if !strings.Contains(page, want) {
			t.Errorf("timeline of %s lacks %q:\n%s", sc.awaiting, want, page)
		}
	}
	b.checkA11y(ctx, "return timeline")
	b.screenshot(ctx, "console-timeline")
	// Keyboard: the first Tab reaches the skip link, Enter moves focus to the content.
	b.run(ctx, "keyboard: skip link", chromedp.KeyEvent(kb.Tab))
	if cls := eval[string](b, ctx, "focused element", `document.activeElement.className`); cls != "skip" {
		t.Errorf("first Tab focuses %q, want the skip link", cls)
	}
	b.run(ctx, "keyboard: follow the skip link", chromedp.KeyEvent(kb.Enter))
	if id := eval[string](b, ctx, "focused element", `document.activeElement.id`); id != "main" {
		t.Errorf("the skip link moves focus to %q, want main", id)
	}
	// Search by a business identifier: the RMA number.
	rma := eval[string](b, ctx, "read the RMA", `[...document.querySelectorAll("dt")].find(d => d.textContent === "RMA").nextElementSibling.textContent`)
	if page := b.open(ctx, "/console/search?q="+url.QueryEscape(rma)); rma == "" || !strings.Contains(page, sc.awaiting) {
		t.Errorf("search by RMA %q does not find %s:\n%s", rma, sc.awaiting, page)
	}
}

// consoleResolveException assigns the exception to a team and approves it.
func consoleResolveException(t *testing.T, b *browser, h *harness, ctx context.Context, sc consoleScenario) {
	page := b.open(ctx, "/console/exceptions")
	if !strings.Contains(page, sc.exception) {
		t.Fatalf("exceptions page lacks %s:\n%s", sc.exception, page)
	}
	b.run(ctx, "name the team", chromedp.SendKeys(chromedp.ID("as-"+sc.exception), "team-returns"))
	b.submit(ctx, "assign the exception", chromedp.CSS(`form[action="/console/returns/`+sc.exception+`/assign"] button`))
	if page := b.open(ctx, "/console/exceptions?owner=team-returns"); !strings.Contains(page, sc.exception) {
		t.Errorf("the team's exceptions lack %s:\n%s", sc.exception, page)
	}
	b.checkA11y(ctx, "exceptions")
	b.screenshot(ctx, "console-exceptions")
	b.open(ctx, "/console/returns/"+sc.exception)
	b.run(ctx, "write the note", chromedp.SendKeys(chromedp.ID("resolve-note"), "photos show the right item"))
	b.submit(ctx, "approve the exception", "#resolve-form button")
	if flash := b.text(ctx); !strings.Contains(flash, "Exception approved.") {
		t.Errorf("after approving: %s", flash)
	}
	done := h.waitAny(t, h.supportToken(t, "check", "support:read"), "/v1/support/returns/"+sc.exception, "refunded")
	if !strings.Contains(fmt.Sprint(done.Timeline), "by support:ann") {
		t.Errorf("the approval's agent is not on the timeline: %+v", done.Timeline)
	}
}

// consoleDeadLetter inspects the poison event, follows its runbook, dry-runs and replays it.
func consoleDeadLetter(t *testing.T, b *browser, ctx context.Context, sc consoleScenario) {
	page := b.open(ctx, "/console/deadletters/"+sc.deadLetter)
	for _, want := range []string{"console-poison-1", "corr-console-poison", "nobody.Knows"} {
		if !strings.Contains(page, want) {
			t.Errorf("dead letter page lacks %q:\n%s", want, page)
		}
	}
	b.checkA11y(ctx, "dead letter")
	b.submit(ctx, "dry run", "#dry-run")
	if page := b.text(ctx); !strings.Contains(page, ": dry_run (") || !strings.Contains(page, "ann") {
		t.Errorf("after the dry run: %s", page)
	}
	b.screenshot(ctx, "console-dead-letter")
	b.submit(ctx, "replay", "#replay-now")
	if page := b.text(ctx); !strings.Contains(page, ": published (") {
		t.Errorf("after the replay: %s", page)
	}
	b.run(ctx, "open the runbook", chromedp.Click(chromedp.ID("runbook-link")), chromedp.WaitVisible(chromedp.CSS("pre.runbook")))
	if page := b.text(ctx); !strings.Contains(page, "Dead letter:") {
		t.Errorf("runbook: %s", page)
	}
	consoleBulkReplay(t, b, ctx)
	audit := b.open(ctx, "/console/audit?actor=support:ann")
	for _, want := range []string{"replay dead-letter " + sc.deadLetter + " (dry run)", "replay dead-letter " + sc.deadLetter, "resolve-exception " + sc.exception + " approve"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q:\n%s", want, audit)
		}
	}
}

// consoleBulkReplay replays every dead letter of the consumer: refused before a dry run, then
// dry run, then the replay, which skips the dead letter replayed already.
func consoleBulkReplay(t *testing.T, b *browser, ctx context.Context) {
	// The replayed poison event failed again: a second dead letter.
	testkit.Eventually(t, 20*time.Second, "the replayed poison is dead-lettered again", func() bool {
		return eval[int](b, ctx, "count dead letters", `fetch("/console/deadletters?consumer=returns-from-wms").then(r => r.text()).then(h =>
			new DOMParser().parseFromString(h, "text/html").querySelectorAll("tbody tr a").length)`) == 2
	})
	b.open(ctx, "/console/deadletters?consumer=returns-from-wms")
	form := url.Values{"csrf": {b.csrf(ctx)}, "consumer": {"returns-from-wms"}, "dry_run": {"0"}}
	if st := b.post(ctx, "/console/deadletters/bulk", form); st != http.StatusSeeOther {
		t.Fatalf("bulk replay before a dry run: %d", st)
	}
	if page := b.open(ctx, "/console/deadletters?consumer=returns-from-wms"); !strings.Contains(page, "run a dry run of this selection first") {
		t.Errorf("a bulk replay ran without a dry run first:\n%s", page)
	}
	b.checkA11y(ctx, "dead letters")
	b.submit(ctx, "bulk dry run", "#bulk-dry-run")
	if page := b.text(ctx); !strings.Contains(page, "Dry run of 2 dead letters: dry_run 2.") {
		t.Errorf("bulk dry run: %s", page)
	}
	b.screenshot(ctx, "console-dead-letters")
	b.submit(ctx, "bulk replay", "#bulk-replay")
	if page := b.text(ctx); !strings.Contains(page, "Replay of 2 dead letters: published 1, skipped (replayed before) 1.") {
		t.Errorf("bulk replay: %s", page)
	}
}

// consoleSLA moves the clock past the inspection SLA: the waiting return is listed as late.
func consoleSLA(t *testing.T, b *browser, h *harness, ctx context.Context, sc consoleScenario) {
	if page := b.open(ctx, "/console/queues/sla"); strings.Contains(page, sc.awaiting) {
		t.Errorf("%s is late before its SLA:\n%s", sc.awaiting, page)
	}
	h.clock.Advance(49 * time.Hour)
	page := b.open(ctx, "/console/queues/sla")
	if !strings.Contains(page, sc.awaiting) || !strings.Contains(page, "inspection late") {
		t.Errorf("SLA breaches lack %s (inspection late):\n%s", sc.awaiting, page)
	}
	b.checkA11y(ctx, "SLA breaches")
}

// consoleKPIs sees the charts drawn from the scenario's stored records: three returns
// authorised by mail, two refunded (one after the approved exception), one exception, the
// warehouse's return receipts in the inventory ledger, and the poison event's dead letters and
// replays.
func consoleKPIs(t *testing.T, b *browser, ctx context.Context) {
	b.open(ctx, "/console/kpis?range=24h")
	if n := eval[int](b, ctx, "count charts", `document.querySelectorAll("svg.chart").length`); n != 8 {
		t.Errorf("%d charts, want 7 KPIs and the live counters", n)
	}
	totals := func(id string) string {
		return eval[string](b, ctx, "totals "+id, `document.querySelector("#kpi-`+id+` table.totals tbody").innerText`)
	}
	for id, want := range map[string][]string{
		"authorisation": {"mail", "over 3"},
		"refund-cycle":  {"mail", "over 2; 2 refunded through the gateway"},
		"exceptions":    {"returns mail\t1"},
		"erp":           {"returns mail", "succeeded"},
		"inventory-lag": {"return_received", "over 3"},
	} {
		got := totals(id)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("KPI %s totals %q lack %q", id, got, w)
			}
		}
		if dots := eval[int](b, ctx, "dots "+id, `document.querySelectorAll("#kpi-`+id+` svg circle").length`); dots == 0 {
			t.Errorf("KPI %s draws no value over time", id)
		}
	}
	if got := totals("order-processing"); !strings.Contains(got, "Nothing observed") {
		t.Errorf("order processing without orders: %q", got)
	}
	// Two replays (one alone, one in bulk) of the poison event, dead-lettered each time again:
	// three dead letters once the last replay failed too.
	want := "returns-from-wms\t3 dead letters, 2 replays (replay rate 67%)"
	testkit.Eventually(t, time.Minute, "the replay rate counts the third dead letter", func() bool {
		return strings.Contains(b.open(ctx, "/console/kpis?range=24h")+totals("replays"), want)
	})
	b.checkA11y(ctx, "KPIs")
	eval[bool](b, ctx, "scroll to the returns' KPIs", `document.querySelector("#kpi-authorisation").scrollIntoView(), true`)
	b.screenshot(ctx, "console-kpis")
}

// consoleViewer is an agent with support:read only: no operator pages, no actions.
func consoleViewer(t *testing.T, b *browser, h *harness, sc consoleScenario) {
	vic := b.tab()
	b.signIn(vic, "vic", "viewer")
	if links := eval[string](b, vic, "read the navigation", `document.querySelector("nav").innerText`); strings.Contains(links, "Dead letters") || strings.Contains(links, "KPIs") {
		t.Errorf("a viewer's navigation offers operator pages: %s", links)
	}
	for _, path := range []string{"/console/deadletters", "/console/deadletters/" + sc.deadLetter, "/console/kpis", "/console/audit"} {
		if page := b.open(vic, path); !strings.Contains(page, "needs the operator scope") {
			t.Errorf("viewer at %s: %s", path, page)
		}
	}
	page := b.open(vic, "/console/returns/"+sc.awaiting)
	if n := eval[int](b, vic, "count forms", `document.querySelectorAll("main form").length`); n != 0 || strings.Contains(page, "Cancel return") {
		t.Errorf("a viewer is offered %d action forms on %s", n, sc.awaiting)
	}
	form := url.Values{"csrf": {b.csrf(vic)}, "note": {"viewer tries"}}
	if st := b.post(vic, "/console/returns/"+sc.awaiting+"/cancel", form); st != http.StatusForbidden {
		t.Errorf("a viewer's cancel (valid CSRF token): %d, want 403", st)
	}
	form.Set("dry_run", "0")
	if st := b.post(vic, "/console/deadletters/"+sc.deadLetter+"/replay", form); st != http.StatusForbidden {
		t.Errorf("a viewer's replay: %d, want 403", st)
	}
	h.waitAny(t, h.supportToken(t, "check", "support:read"), "/v1/support/returns/"+sc.awaiting, "awaiting_inspection")
}

// consoleCSRFAndFixation: forms without the session's token are refused, and a session id
// planted before sign-in is worthless after it.
func consoleCSRFAndFixation(t *testing.T, b *browser, h *harness, ann context.Context, sc consoleScenario) {
	b.open(ann, "/console/returns/"+sc.awaiting)
	for name, form := range map[string]url.Values{
		"forged token": {"csrf": {"forged-token-forged-token-forged-token-000"}, "note": {"csrf"}},
		"no token":     {"note": {"csrf"}},
	} {
		if st := b.post(ann, "/console/returns/"+sc.awaiting+"/cancel", form); st != http.StatusForbidden {
			t.Errorf("cancel with %s: %d, want 403", name, st)
		}
	}
	if st := b.post(ann, "/console/returns/"+sc.awaiting+"/cancel", url.Values{"csrf": {b.csrf(ann)}}); st != http.StatusSeeOther {
		t.Errorf("a well-formed form without a note: %d, want 303 (the action ran and was refused by validation)", st)
	}
	h.waitAny(t, h.supportToken(t, "check", "support:read"), "/v1/support/returns/"+sc.awaiting, "awaiting_inspection")
	if audit := b.open(ann, "/console/audit"); !strings.Contains(audit, "(CSRF token missing or wrong)") || !strings.Contains(audit, "(needs support:write)") {
		t.Errorf("refusals are not audited:\n%s", audit)
	}

	// Session fixation: the attacker gets an anonymous session id and plants it.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, cookie string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "rb_console", Value: cookie})
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	var planted string
	for _, c := range get("/console/login", "").Cookies() {
		if c.Name == "rb_console" {
			planted = c.Value
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie attributes: HttpOnly %v Secure %v SameSite %v", c.HttpOnly, c.Secure, c.SameSite)
			}
		}
	}
	victim := b.tab()
	b.plantCookie(victim, planted)
	b.signIn(victim, "bob", "agent")
	after := b.cookie(victim)
	if planted == "" || after == "" || after == planted {
		t.Fatalf("session id not rotated at sign-in: planted %q, after %q", planted, after)
	}
	if resp := get("/console/", planted); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/login" {
		t.Errorf("the planted id after the victim's sign-in: %d %s, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := get("/console/", after); resp.StatusCode != http.StatusOK {
		t.Errorf("the victim's own session: %d, want 200", resp.StatusCode)
	}
}

package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// The dev banner names every sandbox with its URL, and a signal-initiated shutdown (Ctrl-C,
// the context ending) is a clean exit: run returns nil, so `make run` ends with status 0.
func TestDevBannerAndCleanShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"RB_LOG_LEVEL": "error"}[k] }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--http-addr", "127.0.0.1:0", "--data-dir", dir}, getenv, &out)
	}()
	testkit.Eventually(t, 2*time.Minute, "dev's banner", func() bool {
		select {
		case err := <-done:
			t.Fatalf("dev ended before its banner: %v\n%s", err, out.String())
		default:
		}
		return strings.Contains(out.String(), "Press Ctrl-C")
	})
	for _, name := range []string{"gateway", "shopify", "netsuite", "stripe", "loop", "warehouse"} {
		if !regexp.MustCompile(`(?m)^  ` + name + ` +http://127\.0\.0\.1:\d+`).MatchString(out.String()) {
			t.Errorf("the banner does not list %s with its URL:\n%s", name, out.String())
		}
	}
	// The product feed's export folder is started like the vendors' sandboxes.
	if !regexp.MustCompile(`(?m)^  productfeed +sftp://127\.0\.0\.1:\d+ \(sandbox: file feed\)`).MatchString(out.String()) {
		t.Errorf("the banner does not list the product feed's SFTP sandbox:\n%s", out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("dev after the signal: %v, want a clean exit", err)
	}
}

// Package runbooks embeds the operations runbooks so the console can show the runbook of a
// failure kind offline, from the same files the repository shows.
package runbooks

import "embed"

// FS holds the runbooks (*.md).
//
//go:embed *.md
var FS embed.FS

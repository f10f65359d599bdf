package store

import (
	"strconv"
	"strings"
)

// Dialect names the SQL engine behind a DB. Queries are written once, with PostgreSQL-style
// positional placeholders ($1, $2, …); Rebind turns them into what the engine expects.
type Dialect uint8

// Dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

// Rebind returns query with placeholders for d. For PostgreSQL it is the identity; for SQLite each
// $N outside string literals, quoted identifiers and comments becomes ?N, which SQLite binds
// positionally, so a placeholder may be used more than once.
func (d Dialect) Rebind(query string) string {
	if d != SQLite || !strings.Contains(query, "$") {
		return query
	}
	// One pass over the text costs far less than the statement; no cache to grow or share.
	return rebindSQLite(query)
}

func rebindSQLite(query string) string {
	var b strings.Builder
	b.Grow(len(query))
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			// Copy a quoted literal or identifier verbatim; a doubled quote is an escaped quote
			// and simply continues the literal on the next iteration.
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+1])
			i += j
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+4])
			i += j + 3
		case c == '$' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9':
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Placeholders returns "$from, $from+1, …" n times, for IN lists built at run time.
func Placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

package config

import (
	"fmt"
	"net/url"
	"time"
)

// ConsoleConfig configures the operations console (/console) the gateway serves.
type ConsoleConfig struct {
	// OIDCIssuer is the retailer's identity provider (RB_CONSOLE_OIDC_ISSUER); empty disables
	// the OpenID Connect login.
	OIDCIssuer string
	// OIDCClientID and OIDCClientSecret identify the console at the provider
	// (RB_CONSOLE_OIDC_CLIENT_ID, RB_CONSOLE_OIDC_CLIENT_SECRET; the secret may be empty for a
	// public client, PKCE protects the code either way).
	OIDCClientID     string
	OIDCClientSecret string
	// OIDCRedirectURL is the console's callback as the provider knows it, for example
	// https://ops.example.com/console/callback (RB_CONSOLE_OIDC_REDIRECT_URL).
	OIDCRedirectURL string
	// OIDCScopesClaim is the ID-token claim listing the agent's Retailbridge scopes, a
	// space-separated string or an array (RB_CONSOLE_OIDC_SCOPES_CLAIM, default
	// retailbridge_scopes).
	OIDCScopesClaim string
	// SessionTTL is how long a console session lasts without activity (RB_CONSOLE_SESSION_TTL,
	// default 8h).
	SessionTTL time.Duration
}

func readConsole(r *reader) ConsoleConfig {
	return ConsoleConfig{
		OIDCIssuer:       r.str("RB_CONSOLE_OIDC_ISSUER", ""),
		OIDCClientID:     r.str("RB_CONSOLE_OIDC_CLIENT_ID", ""),
		OIDCClientSecret: r.str("RB_CONSOLE_OIDC_CLIENT_SECRET", ""),
		OIDCRedirectURL:  r.str("RB_CONSOLE_OIDC_REDIRECT_URL", ""),
		OIDCScopesClaim:  r.str("RB_CONSOLE_OIDC_SCOPES_CLAIM", "retailbridge_scopes"),
		SessionTTL:       r.duration("RB_CONSOLE_SESSION_TTL", 8*time.Hour),
	}
}

// badConsole names every bad console setting.
func (c ConsoleConfig) badConsole() []string {
	var bad []string
	add := func(field, msg string) { bad = append(bad, field+": "+msg) }
	if c.SessionTTL < time.Minute || c.SessionTTL > 7*24*time.Hour {
		add("RB_CONSOLE_SESSION_TTL", "must be between 1m and 168h")
	}
	if c.OIDCIssuer == "" {
		return bad
	}
	for field, v := range map[string]string{"RB_CONSOLE_OIDC_ISSUER": c.OIDCIssuer, "RB_CONSOLE_OIDC_REDIRECT_URL": c.OIDCRedirectURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add(field, fmt.Sprintf("%q is not an absolute http(s) URL (required with RB_CONSOLE_OIDC_ISSUER)", v))
		}
	}
	if c.OIDCClientID == "" {
		add("RB_CONSOLE_OIDC_CLIENT_ID", "required with RB_CONSOLE_OIDC_ISSUER")
	}
	if c.OIDCScopesClaim == "" {
		add("RB_CONSOLE_OIDC_SCOPES_CLAIM", "must not be empty")
	}
	return bad
}

package gateway

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// cors lets the configured storefront origins call the storefront routes from browsers. A
// preflight is answered here, before authentication (browsers send it without credentials);
// other origins get no CORS headers, so browsers refuse their scripts the responses.
func (g *Gateway) cors() gin.HandlerFunc {
	allowHeaders := strings.Join([]string{"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "Traceparent"}, ", ")
	// Deprecation, Sunset and Link tell storefront code that a route is going away (deprecation.go).
	expose := strings.Join([]string{"RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-Id", "Idempotent-Replayed",
		"Deprecation", "Sunset", "Link"}, ", ")
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || !slices.Contains(g.cfg.CORSOrigins, origin) {
			if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
				c.AbortWithStatus(http.StatusForbidden)
				return
			}
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", expose)
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", allowHeaders)
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

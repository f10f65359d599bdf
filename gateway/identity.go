package gateway

import "github.com/gin-gonic/gin"

// identityRoutes mounts the identity endpoints: the OAuth 2.0 token endpoint for partners and
// the published JWKS.
func (g *Gateway) identityRoutes(r *gin.Engine) {}

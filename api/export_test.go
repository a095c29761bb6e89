package api

import "github.com/gin-gonic/gin"

// NewRouterWith builds the API with extra /v1 routes behind the same
// middleware, so tests can reach the middleware with handlers of their own.
func NewRouterWith(d Deps, extra func(v1 *gin.RouterGroup)) *gin.Engine { return newRouter(d, extra) }

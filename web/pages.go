package web

import "github.com/gin-gonic/gin"

// pageRoutes are the pages behind sign-in.
func (w *Web) pageRoutes(in *gin.RouterGroup) {}

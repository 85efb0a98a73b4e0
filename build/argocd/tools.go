//go:build tools

// Names the Argo CD command so that `go mod tidy` keeps what it needs.
package tools

import (
	_ "github.com/argoproj/argo-cd/v3/cmd"
)

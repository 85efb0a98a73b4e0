//go:build tools

// Names STUNner's commands so that `go mod tidy` keeps what they need.
package tools

import (
	_ "github.com/l7mp/stunner/cmd/icetester"
	_ "github.com/l7mp/stunner/cmd/stunnerd"
	_ "github.com/l7mp/stunner/cmd/turncat"
)

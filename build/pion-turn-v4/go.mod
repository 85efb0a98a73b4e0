// Pins pion/turn v4's example server (examples/turn-server/simple), the bench's "pion/turn v4"
// row (bench/servers.ts builds it into .bench-build). The versions are those STUNner v1.2.1
// resolves (build/stunner/go.mod), so a Go cache filled by scripts/build-stunner.sh builds it offline.
module stunner-gitops/pion-turn-v4

go 1.24

require (
	github.com/pion/dtls/v3 v3.1.3
	github.com/pion/logging v0.2.5-0.20260405224506-902883ec686b
	github.com/pion/randutil v0.1.0
	github.com/pion/stun/v3 v3.1.4
	github.com/pion/transport/v4 v4.0.2
	github.com/pion/turn/v4 v4.1.4
	github.com/wlynxg/anet v0.0.5
	golang.org/x/crypto v0.52.0
	golang.org/x/net v0.55.0
	golang.org/x/sys v0.45.0
	golang.org/x/text v0.37.0
)

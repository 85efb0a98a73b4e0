// Pins STUNner's ICE auth service (scripts/build-stunner.sh), its latest release. Its main
// package is the module root, so there is no tools.go: the script builds the module path itself.
// The replace line repeats the one in stunner-auth-service v1.1.0's own go.mod.
// go.sum is absent while the Go module proxy does not serve this module (it answers 403).
module stunner-gitops/stunner-auth-service-build

go 1.23.0

require github.com/l7mp/stunner-auth-service v1.1.0

replace github.com/pion/turn/v4 => github.com/l7mp/turn/v4 v4.0.1-0.20250129175420-8076eb06efe0

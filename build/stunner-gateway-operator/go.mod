// Pins STUNner's gateway operator (scripts/build-stunner.sh), its latest release. Its main
// package is the module root, so there is no tools.go: the script builds the module path itself.
// stunner-gateway-operator v1.2.1's go.mod has no replace lines (one is commented out).
// go.sum is absent while the Go module proxy does not serve this module (it answers 403).
module stunner-gitops/stunner-gateway-operator-build

go 1.25.0

require github.com/l7mp/stunner-gateway-operator v1.2.1

// Package e2e runs the real dragonload binary on a small netbed: a
// requester and two lenders, each a network namespace with its own shaped
// WAN link to the test origin, and checks that the pooled download is
// correct. It is the CI-sized cousin of `make bench` (test/bench): a small
// file and no timing, only correctness. It needs root, like netbed; CI
// runs as root, and elsewhere it skips.
package e2e

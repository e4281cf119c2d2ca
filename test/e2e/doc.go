// Package e2e runs the real dragonload binary on loopback: a requester and
// lenders, each bound with --source to its own 127.0.0.x address, against
// the test origin, which shapes each source address separately. The tests
// check the promises of issue 2 end to end: pooling, a lender killed
// mid-download, the requester killed and restarted, wrong room codes.
//
// Everything stays on 127.0.0.0/8. Sizes are small so `make test` stays
// quick; `make bench` runs the same harness at 256 MiB (BenchmarkPooled).
package e2e

// Package audit holds kirjuri's end-to-end tests of the consent audit: the
// real binary (built once by TestMain) runs `migrate`, `apikey create` and
// `serve` as subprocesses against a fresh PostgreSQL database and a fresh
// ClickHouse database of the test servers, and the tests talk to it only
// through its HTTP API (plus direct reads of both databases where a test has
// to prove where an event is at a given moment).
//
// kirjuri reaches ClickHouse through a TCP forwarder owned by the test
// (proxy_test.go), which can cut ClickHouse off and bring it back, or hold
// its answers back, without touching the shared ClickHouse server that other
// test packages use at the same time.
//
// Each test has its own server, databases and proxy, and the tests run in
// parallel. A failing test prints the end of its server's logs; with
// AUDIT_E2E_KEEP_LOGS=<folder>, every server's folder (config and logs) is
// copied there. The package does not use KIRJURI_TEST_SERVERS_SCRIPT: it
// never stops the shared ClickHouse.
package audit

// Package api holds kirjuri's end-to-end tests of the HTTP API: each test
// starts the application's real fx graph (app.Options) on a fresh PostgreSQL
// database and talks to it over real HTTP. See harness_test.go.
package api

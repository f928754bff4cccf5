// Package run holds tests of the README's commands as a developer, a
// terminal and a process manager drive them: `go tool task run` is started
// in a process group of its own and stopped with signals. See run_test.go.
package run

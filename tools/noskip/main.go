// Command noskip reads `go test -json` and prints what `go test` prints
// without -v: each package's summary line, the output of failing tests and
// build errors. It also prints the output of every skipped test and fails
// when there is one: `go tool task test` runs every test, and a test that
// skips (a missing server, a switch left off) is a test that did not run.
//
//	go test -json ./... | go run ./tools/noskip
//
// The exit status is 1 when a test failed or skipped, or a build failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() { os.Exit(report(os.Stdin, os.Stdout)) }

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output, build-fail
}

func report(in io.Reader, out io.Writer) int {
	var (
		buffered = map[string][]string{} // package + test → output lines
		skipped  []string
		failed   bool
	)
	// Tests that never pass, fail or skip: the test binary died under them
	// (a panic, go test's -timeout with its goroutine dump, a kill), and
	// test2json gives that output to the test last named, which then has
	// no end. What they printed is shown when their package fails.
	show := func(key string) {
		fmt.Fprintf(out, "--- %s did not finish; its output:\n%s", key, strings.Join(buffered[key], ""))
		delete(buffered, key)
	}
	unfinished := func(pkg string) {
		for _, k := range sortedKeys(buffered) {
			if strings.HasPrefix(k, pkg+" ") {
				show(k)
			}
		}
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(out, "%s\n", line) // not an event: pass it on
			continue
		}
		key := e.Package + " " + e.Test
		switch {
		case e.Action == "build-output":
			fmt.Fprint(out, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test == "" && e.Action == "output":
			// Package lines: "ok  \tpkg\t0.1s", "FAIL\tpkg", "?   \tpkg\t[no
			// test files]", panics outside tests. The bare "PASS" of the test
			// binary is left out, as go test does without -v.
			if strings.HasPrefix(e.Output, "FAIL\t") {
				unfinished(e.Package)
			}
			if e.Output != "PASS\n" && !strings.HasPrefix(e.Output, "=== ") {
				fmt.Fprint(out, e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			failed = true
			unfinished(e.Package)
		case e.Test == "":
			// A package's start, pass, or skip (no test files).
		case e.Action == "output":
			if !isProgress(e.Output) {
				buffered[key] = append(buffered[key], e.Output)
			}
		case e.Action == "fail":
			failed = true
			fmt.Fprint(out, strings.Join(buffered[key], ""))
			delete(buffered, key)
		case e.Action == "skip":
			skipped = append(skipped, e.Package+" "+e.Test)
			fmt.Fprint(out, strings.Join(buffered[key], ""))
			delete(buffered, key)
		case e.Action == "pass":
			delete(buffered, key)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(out, "noskip: reading go test -json:", err)
		return 1
	}
	if failed {
		// Packages that never ended: go test itself was stopped.
		for _, k := range sortedKeys(buffered) {
			show(k)
		}
	}
	if len(skipped) > 0 {
		fmt.Fprintf(out, "\n%d skipped (go tool task test runs every test; a skipped test did not run):\n", len(skipped))
		for _, s := range skipped {
			fmt.Fprintf(out, "    %s\n", s)
		}
		fmt.Fprintln(out, "FAIL")
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// isProgress tells the lines -v adds (which -json implies) from a test's
// own output.
func isProgress(s string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

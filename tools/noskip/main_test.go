package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goTestJSON runs `go test -json` on a throw-away module holding src as
// x_test.go and returns its output.
func goTestJSON(t *testing.T, src string) []byte {
	return goTestJSONFile(t, "x_test.go", src)
}

func goTestJSONFile(t *testing.T, file, src string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod": "module x\n\ngo 1.26\n",
		file:     src,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-count=1", "-json", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, _ := cmd.Output() // a failing test run is what some cases want
	if !bytes.Contains(out, []byte(`"Action":"start"`)) {
		t.Fatalf("go test -json printed no events:\n%s", out)
	}
	return out
}

func TestSkippedTestFails(t *testing.T) {
	in := goTestJSON(t, `package x

import "testing"

func TestRuns(t *testing.T) {}

func TestSkips(t *testing.T) {
	t.Run("sub", func(t *testing.T) { t.Skip("set X=1 to run this") })
}
`)
	var out bytes.Buffer
	if code := report(bytes.NewReader(in), &out); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	got := out.String()
	for _, want := range []string{
		"--- SKIP: TestSkips/sub", "set X=1 to run this", // the skip, with its reason
		"ok  \tx\t",                    // go test's own summary line
		"1 skipped", "x TestSkips/sub", // the list at the end
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "FAIL\n") {
		t.Errorf("output does not end in FAIL:\n%s", got)
	}
}

func TestPassingRunPrintsWhatGoTestPrints(t *testing.T) {
	in := goTestJSON(t, `package x

import "testing"

func TestA(t *testing.T) { t.Log("quiet unless it fails") }
`)
	var out bytes.Buffer
	if code := report(bytes.NewReader(in), &out); code != 0 {
		t.Errorf("exit %d, want 0:\n%s", code, out.String())
	}
	if got := out.String(); !strings.HasPrefix(got, "ok  \tx\t") || strings.Count(got, "\n") != 1 {
		t.Errorf("want just go test's summary line, got:\n%s", got)
	}
}

func TestFailingTestShowsItsOutput(t *testing.T) {
	in := goTestJSON(t, `package x

import "testing"

func TestA(t *testing.T) { t.Error("the reason") }
`)
	var out bytes.Buffer
	if code := report(bytes.NewReader(in), &out); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	got := out.String()
	for _, want := range []string{"--- FAIL: TestA", "the reason", "FAIL\tx\t"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "=== RUN") {
		t.Errorf("progress lines in the output:\n%s", got)
	}
}

func TestBuildFailureFails(t *testing.T) {
	in := goTestJSON(t, "package x\n\nfunc broken() { undefined() }\n")
	var out bytes.Buffer
	if code := report(bytes.NewReader(in), &out); code != 1 {
		t.Errorf("exit %d, want 1:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "undefined") {
		t.Errorf("the compiler's message is missing:\n%s", out.String())
	}
}

func TestPackageWithoutTestsIsNoSkip(t *testing.T) {
	in := goTestJSONFile(t, "x.go", "package x\n")
	var out bytes.Buffer
	if code := report(bytes.NewReader(in), &out); code != 0 {
		t.Errorf("exit %d, want 0:\n%s", code, out.String())
	}
	if got := out.String(); !strings.Contains(got, "[no test files]") || strings.Contains(got, "skipped") {
		t.Errorf("want go test's no-test-files line only, got:\n%s", got)
	}
}

// A test binary that dies (here: go test's -timeout, as a hung test ends
// in CI) leaves tests that never pass or fail; what they and the panic
// printed is shown, not dropped with them.
func TestTimedOutTestShowsItsOutputAndThePanic(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod": "module x\n\ngo 1.26\n",
		"x_test.go": `package x

import (
	"testing"
	"time"
)

func TestHangs(t *testing.T) {
	t.Log("waiting for the query")
	time.Sleep(time.Minute)
}
`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-count=1", "-json", "-timeout", "1s", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	in, _ := cmd.Output()
	var out bytes.Buffer
	if code := report(bytes.NewReader(in), &out); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	got := out.String()
	for _, want := range []string{"panic: test timed out after 1s", "TestHangs", "x_test.go:", "FAIL\tx\t"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s\n--- go test -json:\n%s", want, got, in)
		}
	}
}

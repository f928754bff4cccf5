package audit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the kirjuri binary TestMain built; "" when the test servers are
// not configured (every test then skips, or fails under CI=true, through
// pgtest and chtest).
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if serversConfigured() {
		dir, err := os.MkdirTemp("", "kirjuri-audit-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "audit e2e:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "kirjuri")
		if err := build(binary); err != nil {
			fmt.Fprintln(os.Stderr, "audit e2e: build kirjuri:", err)
			return 1
		}
	}
	return m.Run()
}

// serversConfigured tells whether pgtest and chtest will find servers.
func serversConfigured() bool {
	pg := os.Getenv("KIRJURI_TEST_DATABASE_URL") != "" || os.Getenv("KIRJURI_DATABASE_URL") != ""
	ch := os.Getenv("KIRJURI_TEST_CLICKHOUSE_URL") != "" || os.Getenv("KIRJURI_CLICKHOUSE_URL") != ""
	return pg && ch
}

// build compiles app/cmd/kirjuri. go test runs in the package folder, so
// the module root is two folders up.
func build(out string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if root := os.Getenv("GOROOT"); root != "" {
			goTool = filepath.Join(root, "bin", "go")
		} else {
			return fmt.Errorf("no go command on PATH: %w", err)
		}
	}
	cmd := exec.Command(goTool, "build", "-o", out, "./app/cmd/kirjuri")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

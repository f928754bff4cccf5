// Package cli runs the client commands of the real kirjuri binary against a
// real running service (test/internal/e2e).
package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kirjuri/adapters/excel"
	"kirjuri/test/internal/e2e"
)

var binary string

func TestMain(m *testing.M) { os.Exit(e2e.Main(m, &binary)) }

// run runs the binary with the environment's KIRJURI_ variables removed
// and extra added.
func run(t *testing.T, dir string, extra []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(e2e.CleanEnv(), extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func call(t *testing.T, s *e2e.Server, method, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	rq, _ := http.NewRequest(method, s.Base+path, bytes.NewReader(b))
	rq.Header.Set("Authorization", "Bearer "+s.Key)
	rq.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

// readExport reads a workbook's header and its rows' cells as texts.
func readExport(t *testing.T, path string) (header []string, rows [][]string) {
	t.Helper()
	rd, err := excel.Open(path, excel.Limits{})
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer rd.Close()
	for rd.Next() {
		var cells []string
		for _, c := range rd.Row().Cells {
			cells = append(cells, c.Text)
		}
		if header == nil {
			header = cells
			continue
		}
		rows = append(rows, cells)
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return header, rows
}

func TestExportCommand(t *testing.T) {
	s := e2e.Start(t, binary)
	call(t, s, http.MethodPost, "/v1/groups", map[string]any{"externalId": "vip"})
	call(t, s, http.MethodPost, "/v1/customers", map[string]any{"firstName": "Matti", "lastName": "Meikäläinen",
		"email": "matti@example.fi", "ssn": "131052-308T", "groups": []string{"vip"}, "phoneNumbers": []string{"040 1234567"}})
	call(t, s, http.MethodPost, "/v1/customers", map[string]any{"type": "company", "companyName": "Kirjuri Oy", "businessId": "0737546-2"})
	hidden := call(t, s, http.MethodPost, "/v1/customers", map[string]any{"firstName": "Salainen", "lastName": "Henkilö"})
	call(t, s, http.MethodPut, "/v1/customers/"+hidden["id"].(string)+"/restriction", map[string]any{"reason": "asked"})

	dir := t.TempDir()
	env := []string{"KIRJURI_URL=" + s.Base, "KIRJURI_API_KEY=" + s.Key}
	file := filepath.Join(dir, "asiakkaat.xlsx")
	if err := os.WriteFile(file, []byte("an older export"), 0o600); err != nil {
		t.Fatal(err)
	}

	// URL and key from the environment; no bar when stderr is not a
	// terminal; an existing file is replaced.
	stdout, stderr, err := run(t, dir, env, "export", "asiakkaat.xlsx")
	if err != nil {
		t.Fatalf("kirjuri export: %v\n%s", err, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr is not a terminal, yet it got %q", stderr)
	}
	if !strings.Contains(stdout, "wrote asiakkaat.xlsx: 2 customers") {
		t.Errorf("stdout %q", stdout)
	}
	header, rows := readExport(t, file)
	if len(rows) != 2 || header[0] != "number" || slices.Contains(header, "ssn") || !slices.Contains(header, "group:vip") ||
		!slices.Contains(header, "phoneNumber:1") {
		t.Errorf("header %q, %d rows", header, len(rows))
	}

	// URL and key from flags; every customer and the identity codes.
	_, stderr, err = run(t, dir, nil, "export", file, "--url", s.Base, "--key", s.Key, "--include-restricted", "--include-ssn")
	if err != nil {
		t.Fatalf("kirjuri export --include-restricted --include-ssn: %v\n%s", err, stderr)
	}
	header, rows = readExport(t, file)
	if ssn := slices.Index(header, "ssn"); len(rows) != 3 || ssn < 0 || rows[0][ssn] != "131052-308T" {
		t.Errorf("header %q, rows %q", header, rows)
	}

	// Filters.
	if _, stderr, err = run(t, dir, env, "export", "yritykset.xlsx", "--type", "company"); err != nil {
		t.Fatalf("kirjuri export --type company: %v\n%s", err, stderr)
	}
	if _, rows = readExport(t, filepath.Join(dir, "yritykset.xlsx")); len(rows) != 1 || !slices.Contains(rows[0], "Kirjuri Oy") {
		t.Errorf("--type company: rows %q", rows)
	}

	// A refused export names the flag and leaves no file behind.
	_, stderr, err = run(t, dir, env, "export", "huono.xlsx", "--type", "robot")
	if err == nil || !strings.Contains(stderr, "422") || !strings.Contains(stderr, "--type") {
		t.Errorf("--type robot: err %v, stderr %q", err, stderr)
	}
	_, stderr, err = run(t, dir, env, "export", "huono.xlsx", "--q", " ")
	if err == nil || !strings.Contains(stderr, "--q") {
		t.Errorf("--q blank: err %v, stderr %q", err, stderr)
	}
	_, stderr, err = run(t, dir, []string{"KIRJURI_URL=" + s.Base, "KIRJURI_API_KEY=kir_not-a-key-anyone-has"}, "export", "huono.xlsx")
	if err == nil || !strings.Contains(stderr, "401") {
		t.Errorf("unknown key: err %v, stderr %q", err, stderr)
	}
	if strings.Contains(stderr, "kir_not-a-key") {
		t.Errorf("the key is echoed: %q", stderr)
	}
	_, stderr, err = run(t, dir, []string{"KIRJURI_URL=" + s.Base}, "export", "huono.xlsx")
	if err == nil || !strings.Contains(stderr, "KIRJURI_API_KEY") {
		t.Errorf("no key: err %v, stderr %q", err, stderr)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"asiakkaat.xlsx", "yritykset.xlsx"}; !slices.Equal(names, want) {
		t.Errorf("files in the folder %q, want %q (no partial or refused download)", names, want)
	}
}

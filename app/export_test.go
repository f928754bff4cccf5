package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kirjuri/adapters/excel"
)

// workbook is a small valid export of n customers.
func workbook(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := excel.NewWriter(&b)
	if err := w.AddSheet(excel.Sheet{Name: "Customers", Columns: []excel.Column{{Header: "number"}, {Header: "firstName"}}}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.WriteRow([]excel.Value{excel.IntValue(int64(10000 + i)), excel.TextValue("Aino")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRunExportShowsProgressOnATerminal(t *testing.T) {
	file := workbook(t, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/exports/customers.xlsx" || r.URL.Query().Get("group") != "vip" || r.Header.Get("Authorization") != "Bearer kir_k" {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Total-Count", "3")
		_, _ = w.Write(file)
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	out := filepath.Join(t.TempDir(), "out.xlsx")
	var stdout, stderr bytes.Buffer
	err := runExport(context.Background(), exportRun{base: base, key: "kir_k", query: url.Values{"group": {"vip"}}, file: out,
		stdout: &stdout, stderr: &stderr, progress: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "exporting 3 customers") {
		t.Errorf("progress %q", stderr.String())
	}
	if !strings.Contains(stdout.String(), "3 customers") {
		t.Errorf("stdout %q", stdout.String())
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, file) {
		t.Error("the file differs from what was sent")
	}
}

// A download that breaks off (the service aborts the connection when the
// export fails midway) leaves no file, and no partial one.
func TestRunExportLeavesNothingOfABrokenDownload(t *testing.T) {
	file := workbook(t, 2000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(file[:len(file)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	dir := t.TempDir()
	err := runExport(context.Background(), exportRun{base: base, key: "kir_k", file: filepath.Join(dir, "out.xlsx"),
		stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "broke off") {
		t.Fatalf("err %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left behind %v", entries)
	}
}

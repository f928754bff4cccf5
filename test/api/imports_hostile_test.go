package api

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/app"
)

// Hostile uploads through POST /v1/imports (issue 7, item 5), with small
// limits: each is a clear 4xx naming the problem, or an accepted import
// that fails with a file error (row 0) and writes nothing; never a 5xx, a
// panic or an error in the server's log (checkNoServerErrors).

const (
	hostileMaxUpload = 256 << 10
	hostileMaxPart   = 1 << 20
	hostileMaxRows   = 50
	hostileMaxCols   = 20
	hostileMaxCell   = 1000
)

func hostileEnv(t *testing.T) *env {
	return newEnvWith(t, func(c *app.Config) {
		c.Imports.MaxUploadBytes = hostileMaxUpload
		c.Imports.MaxPartBytes = hostileMaxPart
		c.Imports.MaxRows = hostileMaxRows
		c.Imports.MaxColumns = hostileMaxCols
		c.Imports.MaxCellBytes = hostileMaxCell
	})
}

// withSheet returns the workbook with its worksheet part replaced by
// sheetXML, deflated and written raw, its local header claiming claim
// bytes (0: the truth).
func withSheet(t *testing.T, book []byte, sheetXML string, claim uint64) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(book), int64(len(book)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	replaced := false
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, "xl/worksheets/") {
			if err := zw.Copy(f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		replaced = true
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.BestCompression)
		_, _ = io.WriteString(fw, sheetXML)
		_ = fw.Close()
		if claim == 0 {
			claim = uint64(len(sheetXML))
		}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE([]byte(sheetXML)),
			CompressedSize64: uint64(comp.Len()), UncompressedSize64: claim})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(comp.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if !replaced {
		t.Fatal("the workbook has no worksheet part")
	}
	return out.Bytes()
}

// sheetXML is a worksheet of inline strings; filler goes before the row
// of index fillAt (white space between elements: it compresses to next to
// nothing).
func sheetXML(rows [][]string, filler string, fillAt int) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for i, r := range rows {
		if i == fillAt {
			b.WriteString(filler)
		}
		fmt.Fprintf(&b, `<row r="%d">`, i+1)
		for j, c := range r {
			fmt.Fprintf(&b, `<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>`, colName(j), i+1, c)
		}
		b.WriteString(`</row>`)
	}
	if fillAt >= len(rows) {
		b.WriteString(filler)
	}
	b.WriteString(`</sheetData></worksheet>`)
	return b.String()
}

func colName(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

func TestImportHostileUploads(t *testing.T) {
	e := hostileEnv(t)
	pool := pgtest.NewPool(t, e.dbURL)
	ctx := context.Background()
	root := filepath.Join("..", "..", "adapters", "excel", "testdata")
	password, err := os.ReadFile(filepath.Join(root, "password.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	base := workbook(t, []string{"email"}, []string{"a@example.fi"})
	bomb := strings.Repeat(" ", 2*hostileMaxPart) // 2 MiB of white space inflated, a few KiB deflated
	good := [][]string{{"email", "firstName", "lastName"}, {"bomb@example.fi", "Aino", "Virtanen"}}
	manyRows := [][]string{{"email", "firstName", "lastName"}}
	for i := range hostileMaxRows + 5 {
		manyRows = append(manyRows, []string{fmt.Sprintf("r%d@example.fi", i), "A", "B"})
	}
	wideHeader := []string{"email", "firstName", "lastName"}
	for i := len(wideHeader); i < hostileMaxCols+3; i++ {
		wideHeader = append(wideHeader, fmt.Sprintf("group:g%d", i))
	}
	accepted := 0
	tests := []struct {
		name string
		file []byte
		// at422 is true when the upload is refused at once (422 at
		// body.file); false when it is accepted and the import fails with
		// a file error (row 0). want is in the message either way.
		at422 bool
		want  string
	}{
		{"encrypted", password, true, "password"},
		{"zip bomb before the header, header claims 100 bytes", withSheet(t, base, sheetXML(good, bomb, 0), 100), true, "the file is damaged"},
		{"zip bomb before the header, header claims 1 TiB", withSheet(t, base, sheetXML(good, bomb, 0), 1<<40), true, "unpacks to more than 1048576 bytes"},
		{"zip bomb after the rows, header claims 100 bytes", withSheet(t, base, sheetXML(good, bomb, len(good)), 100), true, "the file is damaged"},
		{"zip bomb after the rows, header claims 1 TiB", withSheet(t, base, sheetXML(good, bomb, len(good)), 1<<40), false, "unpacks to more than 1048576 bytes"},
		{"huge cell", withSheet(t, base, sheetXML([][]string{good[0], {"c@example.fi", strings.Repeat("x", hostileMaxCell+1), "B"}}, "", 9), 0), false, "a cell holds more than 1000 bytes of text (cell B2)"},
		{"huge header cell", withSheet(t, base, sheetXML([][]string{{"email", strings.Repeat("x", hostileMaxCell+1)}}, "", 9), 0), true, "a cell holds more than 1000 bytes of text (cell B1)"},
		{"too many rows", withSheet(t, base, sheetXML(manyRows, "", 999), 0), false, "the sheet has more than 50 rows (row 51)"},
		{"too many columns", withSheet(t, base, sheetXML([][]string{wideHeader, {"w@example.fi", "A", "B"}}, "", 9), 0), true, "the sheet has more than 20 columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.upload("", tt.file, nil, nil)
			if r.Status >= 500 {
				t.Fatalf("%s: %s", tt.name, r)
			}
			if tt.at422 {
				p := e.wantProblem(r, http.StatusUnprocessableEntity, "body.file")
				if !strings.Contains(string(r.Body), tt.want) {
					t.Errorf("problem %+v does not say %q", p, tt.want)
				}
				return
			}
			if r.Status != http.StatusAccepted {
				t.Fatalf("%s: %s; want 202 and a failed import", tt.name, r)
			}
			accepted++
			job := e.waitImport(decode[importJob](t, r).ID)
			if job.Status != "failed" || len(job.Errors) != 1 || job.Errors[0].Row != 0 || !strings.Contains(job.Errors[0].Message, tt.want) ||
				job.Created+job.Updated+job.RowsDone != 0 {
				t.Errorf("import: %+v; want failed with one file error (row 0) saying %q, nothing written", job, tt.want)
			}
		})
	}

	t.Run("over imports.maxUploadBytes", func(t *testing.T) {
		big := make([]byte, hostileMaxUpload+1)
		copy(big, base)
		r := e.upload("", big, nil, nil)
		p := e.wantProblem(r, http.StatusRequestEntityTooLarge, "")
		if !strings.Contains(p.Title+p.Detail, "imports.maxUploadBytes") || !strings.Contains(p.Title+p.Detail, fmt.Sprint(hostileMaxUpload)) {
			t.Errorf("413 %+v does not name the limit", p)
		}
		// The same without a Content-Length (chunked): stopped as it comes.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "big.xlsx")
		_, _ = fw.Write(big)
		_ = mw.Close()
		req, _ := http.NewRequest(http.MethodPost, e.base+"/v1/imports", io.MultiReader(&body)) // no length known
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+bootstrapSecret)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "imports.maxUploadBytes") {
			t.Errorf("chunked upload over the limit: %d %s", resp.StatusCode, b)
		}
	})

	t.Run("truncated upload", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "cut.xlsx")
		_, _ = fw.Write(withSheet(t, base, sheetXML(good, "", 9), 0))
		_ = mw.Close()
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /v1/imports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
			bootstrapSecret, mw.FormDataContentType(), body.Len())
		_, _ = conn.Write(body.Bytes()[:body.Len()/2])
		// Closing the writing side: the server reads an early end of the
		// body, and may still answer.
		_ = conn.(*net.TCPConn).CloseWrite()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "cannot be read") {
				t.Errorf("truncated upload: %d %s, want 400 (or no answer)", resp.StatusCode, b)
			}
			t.Logf("truncated upload: %d %s", resp.StatusCode, b)
		}
		_ = conn.Close()
		// The server still serves.
		e.want(e.get("/v1/imports/template.xlsx", bootstrapSecret), http.StatusOK)
	})

	t.Run("file twice", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for range 2 {
			fw, _ := mw.CreateFormFile("file", "a.xlsx")
			_, _ = fw.Write(base)
		}
		_ = mw.Close()
		r := e.doRaw(http.MethodPost, "/v1/imports", body.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()})
		p := e.wantProblem(r, http.StatusUnprocessableEntity, "body.file")
		if !strings.Contains(string(r.Body), "more than once") {
			t.Errorf("file twice: %+v", p)
		}
	})

	t.Run("dryRun=maybe", func(t *testing.T) {
		e.wantProblem(e.upload("?dryRun=maybe", base, nil, nil), http.StatusUnprocessableEntity, "query.dryRun")
		e.wantProblem(e.upload("", base, map[string]string{"dryRun": "maybe"}, nil), http.StatusUnprocessableEntity, "body.dryRun")
	})

	// Nothing was stored but the imports accepted (and failed): no
	// customer, no file of a refused upload.
	var imports, files, customers int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM imports), (SELECT count(DISTINCT import_id) FROM import_files),
		(SELECT count(*) FROM customers)`).Scan(&imports, &files, &customers); err != nil {
		t.Fatal(err)
	}
	if imports != accepted || files != accepted || customers != 0 {
		t.Errorf("stored %d imports with %d files and %d customers; want the %d accepted imports only and no customer", imports, files, customers, accepted)
	}
}

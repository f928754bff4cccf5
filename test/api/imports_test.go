package api

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"kirjuri/adapters/excel"
)

// importJob is GET /v1/imports/{id}.
type importJob struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	RowsTotal int64  `json:"rowsTotal"`
	RowsDone  int64  `json:"rowsDone"`
	Created   int64  `json:"created"`
	Updated   int64  `json:"updated"`
	Unchanged int64  `json:"unchanged"`
	Rejected  int64  `json:"rejected"`
	Errors    []struct {
		Row     int    `json:"row"`
		Column  string `json:"column"`
		Message string `json:"message"`
	} `json:"errors"`
}

// workbook writes a one-sheet .xlsx of text cells; "" is an empty cell.
func workbook(t *testing.T, header []string, rows ...[]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := excel.NewWriter(&buf)
	cols := make([]excel.Column, len(header))
	for i, h := range header {
		cols[i] = excel.Column{Header: h}
	}
	if err := w.AddSheet(excel.Sheet{Name: "Customers", Columns: cols}); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		vals := make([]excel.Value, len(r))
		for i, c := range r {
			vals[i] = excel.TextValue(c)
		}
		if err := w.WriteRow(vals); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// upload posts a file to /v1/imports with form fields.
func (e *env) upload(query string, file []byte, fields map[string]string, header map[string]string) *response {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", "asiakkaat.xlsx")
		if err != nil {
			e.t.Fatal(err)
		}
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	h := map[string]string{"Content-Type": mw.FormDataContentType()}
	for k, v := range header {
		h[k] = v
	}
	return e.doRaw(http.MethodPost, "/v1/imports"+query, body.Bytes(), h)
}

// doRaw sends a body with the given headers (do labels bodies as JSON).
func (e *env) doRaw(method, path string, body []byte, header map[string]string) *response {
	e.t.Helper()
	hr, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+bootstrapSecret)
	for k, v := range header {
		hr.Header.Set(k, v)
	}
	resp, err := e.client.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// startImport uploads and wants 202 with the import's Location.
func (e *env) startImport(query string, file []byte, fields map[string]string) importJob {
	e.t.Helper()
	r := e.want(e.upload(query, file, fields, nil), http.StatusAccepted)
	job := decode[importJob](e.t, r)
	if loc := r.Header.Get("Location"); loc != "/v1/imports/"+job.ID {
		e.t.Fatalf("Location %q, want /v1/imports/%s", loc, job.ID)
	}
	if job.Status != "queued" {
		e.t.Errorf("status %q at upload, want queued", job.Status)
	}
	return job
}

// waitImport follows an import until it has finished.
func (e *env) waitImport(id string) importJob {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		job := decode[importJob](e.t, e.want(e.get("/v1/imports/"+id, bootstrapSecret), http.StatusOK))
		if job.Status == "succeeded" || job.Status == "failed" {
			return job
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("import %s did not finish in 60 s", id)
	return importJob{}
}

func (e *env) importFile(query string, file []byte) importJob {
	e.t.Helper()
	return e.waitImport(e.startImport(query, file, nil).ID)
}

func errorsOf(j importJob) string {
	var parts []string
	for _, x := range j.Errors {
		parts = append(parts, fmt.Sprintf("%d/%s: %s", x.Row, x.Column, x.Message))
	}
	return strings.Join(parts, " | ")
}

func TestImportEndToEnd(t *testing.T) {
	e := newEnv(t)
	header := []string{"email", "firstName", "lastName", "marketingEmail", "address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city", "group:vip"}
	file := workbook(t, header,
		[]string{"aino@example.fi", "Aino", "Virtanen", "true", "Home", "Kotikatu 1", "00100", "Helsinki", "true"},
		[]string{"eero@example.fi", "Eero", "Korhonen", "no", "", "", "", "", ""},
		[]string{"not-an-email", "Bad", "Row", "true", "", "", "", "", ""},
		[]string{"liisa@example.fi", "Liisa", "", "maybe", "", "", "", "", ""},
	)
	job := e.importFile("", file)
	if job.Status != "succeeded" || job.RowsTotal != 4 || job.RowsDone != 4 || job.Created != 2 || job.Rejected != 2 || job.Updated != 0 {
		t.Fatalf("import: %+v; errors %s", job, errorsOf(job))
	}
	if len(job.Errors) < 2 || job.Errors[0].Row != 4 || job.Errors[0].Column != "email" {
		t.Errorf("errors %s, want row 4 email first", errorsOf(job))
	}
	if !strings.Contains(errorsOf(job), "5/marketingEmail") {
		t.Errorf("errors %s, want row 5 marketingEmail", errorsOf(job))
	}
	found := e.find("email=aino@example.fi", bootstrapSecret)
	if len(found.Items) != 1 {
		t.Fatalf("aino: %d customers", len(found.Items))
	}
	aino := e.customer(found.Items[0].ID)
	if !aino.MarketingEmail || len(aino.Groups) != 1 || aino.Groups[0] != "vip" || len(aino.Addresses) != 1 {
		t.Errorf("aino after the import: %+v", aino)
	}
	ev := e.outbox(aino.ID)
	if len(ev) != 1 || ev[0].Source != "import" || ev[0].RequestID != job.ID {
		t.Errorf("aino's consent events: %+v, want one with source import and request id %s", ev, job.ID)
	}

	// The same file again changes nothing and records no event.
	again := e.importFile("", file)
	if again.Status != "succeeded" || again.Unchanged != 2 || again.Created != 0 || again.Updated != 0 || again.Rejected != 2 {
		t.Errorf("second import: %+v", again)
	}
	if ev := e.outbox(aino.ID); len(ev) != 1 {
		t.Errorf("aino has %d consent events after importing the same file again, want 1", len(ev))
	}

	// The rejected rows, as they were, with the reason; fixed and imported
	// again they are accepted.
	r := e.want(e.get("/v1/imports/"+job.ID+"/rejected.xlsx", bootstrapSecret), http.StatusOK)
	rd, err := excel.NewReader(bytes.NewReader(r.Body), int64(len(r.Body)), excel.Limits{})
	if err != nil {
		t.Fatalf("rejected.xlsx: %v", err)
	}
	var got [][]string
	for rd.Next() {
		var cells []string
		for _, c := range rd.Row().Cells {
			cells = append(cells, c.Text)
		}
		got = append(got, cells)
	}
	if len(got) != 3 || strings.Join(got[0], ",") != strings.Join(append(header, "reason"), ",") {
		t.Fatalf("rejected.xlsx rows %q", got)
	}
	if got[1][0] != "not-an-email" || !strings.HasPrefix(got[1][len(got[1])-1], "email: ") || got[2][0] != "liisa@example.fi" {
		t.Errorf("rejected rows %q", got[1:])
	}
	fixed := got[1:]
	fixed[0][0] = "fixed@example.fi"
	fixed[1][3] = "yes"
	for i := range fixed {
		for len(fixed[i]) < len(header)+1 {
			fixed[i] = append(fixed[i], "")
		}
	}
	refile := workbook(t, append(header, "reason"), fixed...)
	re := e.importFile("", refile)
	if re.Status != "succeeded" || re.Created != 1 || re.Rejected != 1 || !strings.Contains(errorsOf(re), "lastName") {
		// Liisa still lacks a last name: that row stays rejected.
		t.Errorf("re-import of the fixed rows: %+v %s", re, errorsOf(re))
	}
}

func TestImportDryRunAndAtomic(t *testing.T) {
	e := newEnv(t)
	header := []string{"email", "firstName", "lastName", "group:new-group"}
	good := workbook(t, header, []string{"a@example.fi", "A", "A", "true"}, []string{"b@example.fi", "B", "B", ""})
	dry := e.waitImport(e.startImport("", good, map[string]string{"dryRun": "true"}).ID)
	if dry.Status != "succeeded" || dry.Created != 2 {
		t.Errorf("dry run: %+v", dry)
	}
	if n := len(e.find("q=example.fi", bootstrapSecret).Items); n != 0 {
		t.Errorf("a dry run wrote %d customers", n)
	}
	groups := e.want(e.get("/v1/groups", bootstrapSecret), http.StatusOK)
	if strings.Contains(string(groups.Body), "new-group") {
		t.Errorf("a dry run created a group: %s", groups.Body)
	}

	bad := workbook(t, header, []string{"c@example.fi", "C", "C", "true"}, []string{"d@example.fi", "D", "", ""})
	atomic := e.waitImport(e.startImport("?atomic=true", bad, nil).ID)
	if atomic.Status != "failed" || atomic.Rejected != 1 || atomic.Created != 0 {
		t.Errorf("atomic with a bad row: %+v %s", atomic, errorsOf(atomic))
	}
	if n := len(e.find("q=example.fi", bootstrapSecret).Items); n != 0 {
		t.Errorf("a failed atomic import wrote %d customers", n)
	}
	ok := e.waitImport(e.startImport("?atomic=true", good, nil).ID)
	if ok.Status != "succeeded" || ok.Created != 2 {
		t.Errorf("atomic: %+v %s", ok, errorsOf(ok))
	}
	if n := len(e.find("q=example.fi", bootstrapSecret).Items); n != 2 {
		t.Errorf("an atomic import wrote %d customers, want 2", n)
	}
}

// TestImportBadFiles: every file the import cannot take is refused at the
// upload (422 naming what is wrong, nothing stored) or fails its job with a
// file error (row 0); none is a 5xx.
func TestImportBadFiles(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		give []byte
		want string
	}{
		{"empty", []byte{}, "empty"},
		{"csv renamed", []byte("email;firstName\naino@example.fi;Aino\n"), "text file (CSV?)"},
		{"pdf renamed", []byte("%PDF-1.7\n%âãÏÓ\n1 0 obj\n"), "PDF"},
		{"xls", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 1024)...), ".xls"},
		{"corrupt zip", []byte("PK\x03\x04 this is not really a zip"), "damaged"},
		{"unknown column", workbook(t, []string{"email", "marketingEmial"}, []string{"a@example.fi", "true"}), "marketingEmial"},
		{"no email column", workbook(t, []string{"firstName"}, []string{"A"}), "email"},
		{"empty sheet", workbook(t, []string{""}), "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.upload("", tt.give, nil, nil)
			p := e.wantProblem(r, http.StatusUnprocessableEntity, "body.file")
			if !strings.Contains(string(r.Body), tt.want) {
				t.Errorf("%s: problem %+v does not say %q", tt.name, p, tt.want)
			}
		})
	}
	t.Run("header only", func(t *testing.T) {
		job := e.importFile("", workbook(t, []string{"email", "firstName"}))
		if job.Status != "failed" || len(job.Errors) != 1 || job.Errors[0].Row != 0 {
			t.Errorf("header-only file: %+v", job)
		}
	})
	t.Run("no file field", func(t *testing.T) {
		e.wantProblem(e.upload("", nil, map[string]string{"dryRun": "true"}, nil), http.StatusUnprocessableEntity, "body.file")
	})
	t.Run("bad option", func(t *testing.T) {
		e.wantProblem(e.upload("", workbook(t, []string{"email"}, []string{"a@example.fi"}), map[string]string{"atomic": "perhaps"}, nil), http.StatusUnprocessableEntity, "body.atomic")
	})
	t.Run("blank query option", func(t *testing.T) {
		r := e.upload("?dryRun=", workbook(t, []string{"email"}, []string{"a@example.fi"}), nil, nil)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("dryRun= : %s", r)
		}
	})
	t.Run("not multipart", func(t *testing.T) {
		r := e.doRaw(http.MethodPost, "/v1/imports", []byte("{}"), map[string]string{"Content-Type": "application/json"})
		if r.Status != http.StatusUnsupportedMediaType {
			t.Errorf("JSON body: %s", r)
		}
	})
	t.Run("unknown import", func(t *testing.T) {
		e.want(e.get("/v1/imports/0190a8b0-0000-7000-8000-000000000000", bootstrapSecret), http.StatusNotFound)
		e.want(e.get("/v1/imports/nope", bootstrapSecret), http.StatusUnprocessableEntity)
	})
	t.Run("scope", func(t *testing.T) {
		e.want(e.get("/v1/imports/template.xlsx", writerSecret), http.StatusForbidden)
	})
}

func TestImportIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	file := workbook(t, []string{"email", "firstName", "lastName"}, []string{"a@example.fi", "A", "A"})
	key := map[string]string{"Idempotency-Key": "upload-1"}
	first := decode[importJob](t, e.want(e.upload("", file, nil, key), http.StatusAccepted))
	second := e.want(e.upload("", file, nil, key), http.StatusAccepted)
	if j := decode[importJob](t, second); j.ID != first.ID || second.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retried upload: import %s (replayed %q), want %s", j.ID, second.Header.Get("Idempotent-Replayed"), first.ID)
	}
	other := workbook(t, []string{"email", "firstName", "lastName"}, []string{"b@example.fi", "B", "B"})
	e.wantProblem(e.upload("", other, nil, key), http.StatusUnprocessableEntity, "header.Idempotency-Key")
	e.waitImport(first.ID)
}

func TestImportTemplate(t *testing.T) {
	e := newEnv(t)
	r := e.want(e.get("/v1/imports/template.xlsx", bootstrapSecret), http.StatusOK)
	rd, err := excel.NewReader(bytes.NewReader(r.Body), int64(len(r.Body)), excel.Limits{})
	if err != nil {
		t.Fatalf("our reader: %v", err)
	}
	if !rd.Next() {
		t.Fatalf("no header: %v", rd.Err())
	}
	if _, err := excel.NewMapper(rd.Row()); err != nil {
		t.Errorf("the template's header does not map: %v", err)
	}
	header := rd.Row().Text(0)
	if rd.Next() {
		t.Errorf("the template has a row %d", rd.Row().Number)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("excelize: %v", err)
	}
	if sheets := f.GetSheetList(); len(sheets) != 2 || sheets[1] != "Columns" {
		t.Errorf("sheets %v", sheets)
	}
	rows, err := f.GetRows("Columns")
	if err != nil || len(rows) < 20 {
		t.Fatalf("Columns sheet: %d rows, %v", len(rows), err)
	}
	for _, row := range rows[1:] {
		if len(row) < 4 || row[3] == "" {
			t.Errorf("column %q is not explained", row[0])
		}
	}
	if header != "number" {
		t.Errorf("first column %q", header)
	}
}

// TestImportCommand runs `kirjuri import` (the real binary) against a
// running service: the report, the rejected rows beside the file, the exit
// status.
func TestImportCommand(t *testing.T) {
	e := newEnv(t)
	c := newCLI(t, map[string]string{"KIRJURI_URL": e.base, "KIRJURI_API_KEY": bootstrapSecret})
	dir := t.TempDir()
	path := dir + "/asiakkaat.xlsx"
	file := workbook(t, []string{"email", "firstName", "lastName"},
		[]string{"cli@example.fi", "Cli", "Asiakas"}, []string{"broken", "Bad", "Row"})
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := c.run("import", path, "--dry-run")
	if code != 1 || !strings.Contains(out, "1 created") || !strings.Contains(out, "row 3: email:") {
		t.Errorf("dry run: exit %d\n%s\n%s", code, out, stderr)
	}
	if n := len(e.find("email=cli@example.fi", bootstrapSecret).Items); n != 0 {
		t.Errorf("the dry run wrote %d customers", n)
	}
	code, out, stderr = c.run("import", path)
	if code != 1 || !strings.Contains(out, "succeeded; 2 rows: 1 created, 0 updated, 0 unchanged, 1 rejected") {
		t.Errorf("import: exit %d\n%s\n%s", code, out, stderr)
	}
	rej, err := os.ReadFile(dir + "/asiakkaat.rejected.xlsx")
	if err != nil {
		t.Fatalf("rejected rows beside the file: %v", err)
	}
	rd, err := excel.NewReader(bytes.NewReader(rej), int64(len(rej)), excel.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for rd.Next() {
		rows++
	}
	if rows != 2 {
		t.Errorf("rejected rows file has %d rows, want header and 1", rows)
	}
	good := dir + "/good.xlsx"
	_ = os.WriteFile(good, workbook(t, []string{"email", "firstName"}, []string{"cli@example.fi", "Muutettu"}), 0o600)
	if code, out, stderr := c.run("import", good); code != 0 || !strings.Contains(out, "1 updated") {
		t.Errorf("clean import: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, _, stderr := c.run("import", dir+"/missing.xlsx"); code == 0 || stderr == "" {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
}

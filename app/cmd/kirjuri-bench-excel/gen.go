package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"kirjuri/adapters/excel"
	"kirjuri/app/cmd/internal/benchkit"
)

// The generated customers are a pure function of their row, so that the
// floors (COPY, the writer) and the checks know what each row holds without
// reading the file.

// genVersion names the generator in the cached files' names; change it when
// the generator changes, so that an old file is not reused.
const genVersion = "v1"

// The columns of the generated files: 26, no number (every row is a new
// customer, matched by email), two addresses, two phone numbers (one as a
// Finn types it, one international), three groups, a card, the consents
// and the e-invoice settings.
var header = []string{
	"email", "firstName", "lastName", "marketingEmail", "marketingSms", "creditAllowed", "externalId",
	"eInvoiceMode", "eInvoiceBroker", "eInvoiceAddress",
	"address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city", "address:1:country",
	"address:2:type", "address:2:streetAddress1", "address:2:postalCode", "address:2:city", "address:2:country",
	"phoneNumber:1", "phoneNumber:2",
	"group:vip", "group:newsletter", "group:b2b",
	"customerCard:1",
}

// groupIDs are the groups of the file's group: columns, sorted.
var groupIDs = []string{"b2b", "newsletter", "vip"}

// boolColumn says which columns hold boolean cells.
func boolColumn(h string) bool {
	switch h {
	case "marketingEmail", "marketingSms", "creditAllowed":
		return true
	}
	return strings.HasPrefix(h, "group:")
}

// broker is the e-invoice operator of the customers who take e-invoices
// (Apix Messaging's operator code).
const broker = "003723327487"

// mix is benchkit.Mix of a row and a salt, for the generator's choices.
func mix(n int, salt uint64) uint64 { return benchkit.Mix(int64(n), salt) }

// genRow is row i (0-based, the spreadsheet's row i+2).
type genRow struct {
	email, first, last     string
	mEmail, mSMS, credit   bool
	externalID             string
	eInvoice               bool // mode Broker, broker and address
	eInvoiceAddress        string
	street1, street2       string
	place1, place2         int
	phone1, phone2         string // as typed in the file
	phone1E164, phone2E164 string
	vip, newsletter, b2b   bool
	card                   string
}

func gen(i int) genRow {
	r := genRow{
		first: benchkit.FirstNames[mix(i, 1)%uint64(len(benchkit.FirstNames))],
		last:  benchkit.LastNames[mix(i, 2)%uint64(len(benchkit.LastNames))],
	}
	r.email = fmt.Sprintf("%s.%s.%d@%s", ascii(r.first), ascii(r.last), i, benchkit.Domains[mix(i, 3)%uint64(len(benchkit.Domains))])
	r.mEmail, r.mSMS, r.credit = mix(i, 4)%2 == 0, mix(i, 5)%3 == 0, mix(i, 6)%10 == 0
	r.externalID = fmt.Sprintf("EXT-%08d", i)
	if mix(i, 7)%5 == 0 {
		r.eInvoice = true
		r.eInvoiceAddress = fmt.Sprintf("INV%09d", i)
	}
	r.street1 = fmt.Sprintf("%s %d A %d", benchkit.Streets[mix(i, 8)%uint64(len(benchkit.Streets))], 1+mix(i, 9)%80, 1+mix(i, 10)%40)
	r.street2 = fmt.Sprintf("%s %d", benchkit.Streets[mix(i, 11)%uint64(len(benchkit.Streets))], 1+mix(i, 12)%120)
	r.place1, r.place2 = int(mix(i, 13)%uint64(len(benchkit.Places))), int(mix(i, 14)%uint64(len(benchkit.Places)))
	p1, d1 := benchkit.MobilePrefixes[mix(i, 15)%uint64(len(benchkit.MobilePrefixes))], fmt.Sprintf("%07d", mix(i, 16)%10_000_000)
	p2, d2 := benchkit.MobilePrefixes[mix(i, 17)%uint64(len(benchkit.MobilePrefixes))], fmt.Sprintf("%07d", mix(i, 18)%10_000_000)
	r.phone1, r.phone1E164 = "0"+p1+" "+d1, "+358"+p1+d1
	r.phone2, r.phone2E164 = "+358 "+p2+" "+d2, "+358"+p2+d2
	r.vip, r.newsletter, r.b2b = mix(i, 19)%20 == 0, mix(i, 20)%2 == 0, mix(i, 21)%10 == 0
	r.card = fmt.Sprintf("KA-%08d", i)
	return r
}

// values fills v (len(header)) with the row's cells.
func (r genRow) values(v []excel.Value) {
	t, b := excel.TextValue, excel.BoolValue
	v[0], v[1], v[2] = t(r.email), t(r.first), t(r.last)
	v[3], v[4], v[5] = b(r.mEmail), b(r.mSMS), b(r.credit)
	v[6] = t(r.externalID)
	if r.eInvoice {
		v[7], v[8], v[9] = t("Broker"), t(broker), t(r.eInvoiceAddress)
	} else {
		v[7], v[8], v[9] = excel.Value{}, excel.Value{}, excel.Value{}
	}
	p1, p2 := benchkit.Places[r.place1], benchkit.Places[r.place2]
	v[10], v[11], v[12], v[13], v[14] = t("Invoice"), t(r.street1), t(p1.Code), t(p1.City), t("FI")
	v[15], v[16], v[17], v[18], v[19] = t("Delivery"), t(r.street2), t(p2.Code), t(p2.City), t("FI")
	v[20], v[21] = t(r.phone1), t(r.phone2)
	v[22], v[23], v[24] = b(r.vip), b(r.newsletter), b(r.b2b)
	v[25] = t(r.card)
}

func (r genRow) groups() []string {
	g := []string{}
	if r.b2b {
		g = append(g, "b2b")
	}
	if r.newsletter {
		g = append(g, "newsletter")
	}
	if r.vip {
		g = append(g, "vip")
	}
	return g
}

func ascii(s string) string {
	return strings.NewReplacer("ä", "a", "ö", "o", "å", "a", "Ä", "A", "Ö", "O", "Å", "A").Replace(strings.ToLower(s))
}

// benchFile is one generated workbook.
type benchFile struct {
	kind  string // "code" (adapters/excel's writer) or "libreoffice"
	rows  int
	path  string
	bytes int64
	took  time.Duration // to make it, 0 when reused
}

func (f benchFile) label() string {
	if f.kind == "libreoffice" {
		return fmt.Sprintf("%s rows, saved by LibreOffice", benchkit.Thousands(float64(f.rows)))
	}
	return fmt.Sprintf("%s rows, written by adapters/excel", benchkit.Thousands(float64(f.rows)))
}

// codeFile returns the generated file of n rows, writing it when it is not
// cached (or --reload).
func (b *bench) codeFile(n int) (benchFile, error) {
	path := filepath.Join(b.opts.dir, fmt.Sprintf("customers-%s-%d.xlsx", genVersion, n))
	f := benchFile{kind: "code", rows: n, path: path}
	if st, err := os.Stat(path); err == nil && !b.opts.reload {
		f.bytes = st.Size()
		return f, nil
	}
	benchkit.Logf("writing %s (%d rows × %d columns) with adapters/excel's writer", path, n, len(header))
	start := time.Now()
	if err := writeFile(path, n); err != nil {
		return f, err
	}
	f.took = time.Since(start)
	st, err := os.Stat(path)
	if err != nil {
		return f, err
	}
	f.bytes = st.Size()
	benchkit.Logf("wrote %s: %.1f MB in %s", filepath.Base(path), float64(f.bytes)/1e6, f.took.Round(time.Millisecond))
	return f, nil
}

func writeFile(path string, n int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	bw := bufio.NewWriterSize(out, 1<<20)
	w := excel.NewWriter(bw)
	cols := make([]excel.Column, len(header))
	for i, h := range header {
		cols[i] = excel.Column{Header: h}
		if boolColumn(h) {
			cols[i].Type = excel.GeneralColumn
		}
	}
	if err := w.AddSheet(excel.Sheet{Name: "Customers", Columns: cols}); err != nil {
		out.Close()
		return err
	}
	v := make([]excel.Value, len(header))
	for i := range n {
		gen(i).values(v)
		if err := w.WriteRow(v); err != nil {
			out.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		out.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// libreOfficeFile returns src as LibreOffice saves it (shared strings),
// converting it when it is not cached; ok is false when soffice is not
// installed.
func (b *bench) libreOfficeFile(ctx context.Context, src benchFile) (benchFile, bool, error) {
	path := strings.TrimSuffix(src.path, ".xlsx") + "-libreoffice.xlsx"
	f := benchFile{kind: "libreoffice", rows: src.rows, path: path}
	if st, err := os.Stat(path); err == nil && !b.opts.reload && src.took == 0 {
		f.bytes = st.Size()
		return f, true, nil
	}
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		return f, false, nil
	}
	outDir := filepath.Join(b.opts.dir, "libreoffice-out")
	_ = os.RemoveAll(outDir)
	benchkit.Logf("converting %s with LibreOffice (soffice --headless --convert-to xlsx; a minute or more)", filepath.Base(src.path))
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, soffice, "-env:UserInstallation=file://"+filepath.Join(b.opts.dir, "libreoffice-profile"),
		"--headless", "--convert-to", "xlsx", "--outdir", outDir, src.path)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return f, true, fmt.Errorf("soffice: %v: %s", err, msg)
	}
	if err := os.Rename(filepath.Join(outDir, filepath.Base(src.path)), path); err != nil {
		return f, true, fmt.Errorf("soffice wrote no file: %w", err)
	}
	_ = os.RemoveAll(outDir)
	f.took = time.Since(start)
	st, err := os.Stat(path)
	if err != nil {
		return f, true, err
	}
	f.bytes = st.Size()
	benchkit.Logf("LibreOffice saved %s: %.1f MB in %s", filepath.Base(path), float64(f.bytes)/1e6, f.took.Round(time.Second))
	return f, true, nil
}

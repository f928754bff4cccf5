package excel

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	kflate "github.com/klauspost/compress/flate"
)

// fastInflate chooses klauspost/compress's DEFLATE decoder over the
// standard library's for the zip parts (measured faster; see the
// benchmarks). A variable so that the benchmarks can compare both.
var fastInflate = true

// Open opens the .xlsx file at path (an upload spooled to disk) and
// prepares to stream its first worksheet. Close releases the file.
func Open(name string, limits Limits) (*Reader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	r, err := NewReader(f, st.Size(), limits)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewReader prepares to stream the first worksheet of the .xlsx file in
// ra, which has size bytes. It reads the workbook, its styles and its
// shared strings first; the rows then come one at a time from Next.
// Every error is a *FileError or a *LimitError.
func NewReader(ra io.ReaderAt, size int64, limits Limits) (*Reader, error) {
	limits = limits.withDefaults()
	if size <= 0 {
		return nil, &FileError{Kind: ErrEmpty}
	}
	var head [512]byte
	n, err := ra.ReadAt(head[:], 0)
	if n == 0 && err != nil {
		return nil, &FileError{Kind: ErrEmpty, Cause: err}
	}
	if bytes.HasPrefix(head[:n], oleSignature) {
		return nil, oleError(ra, size)
	}
	if !bytes.HasPrefix(head[:n], []byte("PK")) {
		return nil, &FileError{Kind: ErrNotXLSX, Detail: sniff(head[:n])}
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, corrupt("", "the zip structure is broken", err)
	}
	if fastInflate {
		zr.RegisterDecompressor(zip.Deflate, kflate.NewReader)
	}
	p := &pkg{zr: zr, limits: limits, files: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		key := strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(f.Name, `\`, "/"), "/"))
		if _, dup := p.files[key]; !dup {
			p.files[key] = f
		}
	}
	return p.open()
}

var oleSignature = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// sniff says what a file that is not a zip seems to be.
func sniff(head []byte) string {
	h := bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF"))
	lower := bytes.ToLower(bytes.TrimSpace(h))
	switch {
	case bytes.HasPrefix(h, []byte("%PDF")):
		return "it is a PDF document"
	case bytes.HasPrefix(lower, []byte("<")):
		switch {
		case bytes.Contains(lower, []byte("<html")), bytes.Contains(lower, []byte("<table")):
			return "it is a web page (HTML); open it in a spreadsheet and save it as .xlsx"
		case bytes.Contains(lower, []byte("urn:schemas-microsoft-com:office:spreadsheet")):
			return "it is an Excel 2003 XML spreadsheet; save it as .xlsx"
		}
		return "it is an XML file"
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return "it looks like a text file (CSV?); open it in a spreadsheet and save it as .xlsx"
	case looksLikeText(h):
		return "it looks like a text file (CSV?); open it in a spreadsheet and save it as .xlsx"
	}
	return "it is not a zip file"
}

func looksLikeText(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	// Allow a multi-byte character cut off at the end of the sample.
	for i := 0; i < 3 && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			return false
		}
	}
	return true
}

// pkg is the zip package being opened.
type pkg struct {
	zr     *zip.Reader
	limits Limits
	files  map[string]*zip.File // by lower-case name
}

type relationship struct {
	ID     string `xml:"Id,attr"`
	Type   string `xml:"Type,attr"`
	Target string `xml:"Target,attr"`
	Mode   string `xml:"TargetMode,attr"`
}

type xmlRels struct {
	Rels []relationship `xml:"Relationship"`
}

type xmlWorkbook struct {
	XMLName xml.Name
	Pr      struct {
		Date1904 string `xml:"date1904,attr"`
	} `xml:"workbookPr"`
	Sheets []struct {
		Name  string     `xml:"name,attr"`
		Attrs []xml.Attr `xml:",any,attr"`
	} `xml:"sheets>sheet"`
}

type xmlStyles struct {
	NumFmts []struct {
		ID     string `xml:"numFmtId,attr"`
		Code   string `xml:"formatCode,attr"`
		Code16 string `xml:"formatCode16,attr"`
	} `xml:"numFmts>numFmt"`
	Xfs []struct {
		NumFmtID string `xml:"numFmtId,attr"`
	} `xml:"cellXfs>xf"`
}

func (p *pkg) file(name string) *zip.File {
	return p.files[strings.ToLower(strings.TrimPrefix(name, "/"))]
}

// openPart opens a part for reading, its inflated bytes bounded by max.
func (p *pkg) openPart(f *zip.File, max int64) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, corrupt(f.Name, "the part cannot be unpacked", err)
	}
	return &limitedPart{rc: rc, max: max, part: f.Name}, nil
}

// limitedPart counts the inflated bytes of a part and stops at max,
// whatever the zip's headers say.
type limitedPart struct {
	rc   io.ReadCloser
	n    int64
	max  int64
	part string
}

func (l *limitedPart) Read(b []byte) (int, error) {
	if l.n >= l.max {
		// One byte more tells a part of exactly max bytes from a longer one.
		var one [1]byte
		for range 100 {
			n, err := l.rc.Read(one[:])
			if n > 0 {
				return 0, &LimitError{Limit: LimitPartBytes, Max: l.max, Part: l.part}
			}
			if err != nil {
				return 0, err
			}
		}
		return 0, io.ErrNoProgress
	}
	if rem := l.max - l.n; int64(len(b)) > rem {
		b = b[:rem]
	}
	n, err := l.rc.Read(b)
	l.n += int64(n)
	return n, err
}

func (l *limitedPart) Close() error { return l.rc.Close() }

// readXML decodes a small part whole into v.
func (p *pkg) readXML(f *zip.File, v any) error {
	max := min(p.limits.MaxPartBytes, metaPartBytes)
	rc, err := p.openPart(f, max)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return le
		}
		return corrupt(f.Name, "the part cannot be unpacked", err)
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return corrupt(f.Name, "the XML is not well formed", err)
	}
	return nil
}

// rels reads the relationships of the part named source (no error when
// it has none).
func (p *pkg) rels(source string) ([]relationship, error) {
	dir, base := path.Split(source)
	f := p.file(dir + "_rels/" + base + ".rels")
	if f == nil {
		return nil, nil
	}
	var rs xmlRels
	if err := p.readXML(f, &rs); err != nil {
		return nil, err
	}
	return rs.Rels, nil
}

// resolve turns a relationship's target into a part name.
func resolve(source, target string) string {
	if strings.Contains(target, "%") {
		if t, err := url.PathUnescape(target); err == nil {
			target = t
		}
	}
	target = strings.ReplaceAll(target, `\`, "/")
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(path.Clean(target), "/")
	}
	return strings.TrimPrefix(path.Join(path.Dir(source), target), "/")
}

func relType(r relationship, kind string) bool {
	return strings.HasSuffix(r.Type, "/"+kind) && !strings.EqualFold(r.Mode, "External")
}

func (p *pkg) open() (*Reader, error) {
	if f := p.file("mimetype"); f != nil && f.UncompressedSize64 < 256 {
		if rc, err := p.openPart(f, 256); err == nil {
			b, _ := io.ReadAll(rc)
			_ = rc.Close()
			if bytes.HasPrefix(b, []byte("application/vnd.oasis.opendocument")) {
				return nil, &FileError{Kind: ErrNotXLSX, Detail: "it is an OpenDocument file (.ods); save it as .xlsx"}
			}
		}
	}
	// The workbook is the package's officeDocument.
	wbName := "xl/workbook.xml"
	rootRels, err := p.rels("")
	if err != nil {
		return nil, err
	}
	for _, r := range rootRels {
		if relType(r, "officeDocument") {
			wbName = resolve("", r.Target)
			break
		}
	}
	wbFile := p.file(wbName)
	if wbFile == nil {
		return nil, &FileError{Kind: ErrNoWorkbook}
	}
	var wb xmlWorkbook
	if err := p.readXML(wbFile, &wb); err != nil {
		return nil, err
	}
	if wb.XMLName.Local != "workbook" {
		return nil, &FileError{Kind: ErrNoWorkbook, Detail: "its main part is not a workbook", Part: wbFile.Name}
	}
	wbRels, err := p.rels(wbName)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]relationship, len(wbRels))
	for _, r := range wbRels {
		byID[r.ID] = r
	}
	// The first sheet, in the workbook's order, that is a worksheet (not a
	// chart sheet), hidden or not.
	r := &Reader{limits: p.limits}
	var sheetFile *zip.File
	for _, s := range wb.Sheets {
		var id string
		for _, a := range s.Attrs {
			if a.Name.Local == "id" && a.Name.Space != "" {
				id = a.Value
			}
		}
		rel, ok := byID[id]
		if !ok || !relType(rel, "worksheet") {
			continue
		}
		r.sheetName, r.sheetPart = s.Name, resolve(wbName, rel.Target)
		if sheetFile = p.file(r.sheetPart); sheetFile == nil {
			return nil, corrupt(r.sheetPart, fmt.Sprintf("the worksheet %q is missing", s.Name), nil)
		}
		break
	}
	if sheetFile == nil {
		return nil, &FileError{Kind: ErrNoWorksheet, Part: wbFile.Name}
	}
	r.date1904 = wb.Pr.Date1904 == "1" || strings.EqualFold(wb.Pr.Date1904, "true")

	var stylesFile, sstFile *zip.File
	for _, rel := range wbRels {
		switch {
		case relType(rel, "styles") && stylesFile == nil:
			stylesFile = p.file(resolve(wbName, rel.Target))
		case relType(rel, "sharedStrings") && sstFile == nil:
			sstFile = p.file(resolve(wbName, rel.Target))
		}
	}
	if sstFile == nil {
		sstFile = p.file("xl/sharedStrings.xml") // where excelize looks
	}
	if stylesFile != nil {
		if err := r.readStyles(p, stylesFile); err != nil {
			return nil, err
		}
	}
	if sstFile != nil {
		if err := r.readSST(p, sstFile); err != nil {
			return nil, err
		}
	}
	if r.stream, err = p.openPart(sheetFile, p.limits.MaxPartBytes); err != nil {
		return nil, err
	}
	r.stream = newReadAhead(r.stream)
	r.sc = newScanner(r.stream, sheetFile.Name)
	return r, nil
}

func (r *Reader) readStyles(p *pkg, f *zip.File) error {
	var st xmlStyles
	if err := p.readXML(f, &st); err != nil {
		return err
	}
	custom := make(map[int]string, len(st.NumFmts))
	for _, nf := range st.NumFmts {
		id, err := strconv.Atoi(strings.TrimSpace(nf.ID))
		if err != nil {
			continue
		}
		code := nf.Code
		if nf.Code16 != "" {
			code = nf.Code16
		}
		custom[id] = code
	}
	r.styles = make([]numFmt, len(st.Xfs))
	for i, xf := range st.Xfs {
		id, err := strconv.Atoi(strings.TrimSpace(xf.NumFmtID))
		switch code, ok := custom[id]; {
		case err != nil:
			r.styles[i] = generalFmt
		case ok:
			r.styles[i] = customFmt(code)
		default:
			r.styles[i] = builtInFmt(id)
		}
	}
	return nil
}

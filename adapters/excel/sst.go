package excel

import (
	"archive/zip"
	"strconv"
	"strings"
)

// sstChunk is how much shared-string text is gathered before it becomes
// one Go string that the entries slice: one allocation per chunk rather
// than one per entry.
const sstChunk = 64 << 10

// readSST reads the shared-strings table whole: cells refer to it by
// index, in any order. Its entries are the only memory that grows with the
// file; Limits bound their number and bytes.
func (r *Reader) readSST(p *pkg, f *zip.File) error {
	rc, err := p.openPart(f, p.limits.MaxPartBytes)
	if err != nil {
		return err
	}
	rc = newReadAhead(rc)
	defer rc.Close()
	sc := newScanner(rc, f.Name)
	var (
		text  []byte // one entry's raw text
		chunk []byte // unescaped entries not yet made strings
		spans []int  // their end offsets in chunk
		total int64
	)
	flush := func() {
		if len(spans) == 0 {
			return
		}
		s := string(chunk)
		start := 0
		for _, end := range spans {
			r.sst = append(r.sst, s[start:end])
			start = end
		}
		chunk, spans = chunk[:0], spans[:0]
	}
	maxCount, maxBytes := p.limits.MaxSharedStrings, p.limits.MaxSharedStringsBytes
	for {
		k, err := sc.nextTag()
		if err != nil {
			return err
		}
		if k == tagEOF {
			break
		}
		if k != tagStart {
			continue
		}
		switch string(sc.name) {
		case "sst":
			for i := 0; ; {
				name, val, next, ok, _ := sc.attrsNext(i)
				if !ok {
					break
				}
				i = next
				if string(name) == "uniqueCount" && r.sst == nil {
					if n, err := strconv.Atoi(strings.TrimSpace(string(val))); err == nil && n > 0 {
						r.sst = make([]string, 0, min(n, maxCount, 1<<20))
					}
				}
			}
		case "si":
			if len(r.sst)+len(spans) >= maxCount {
				return &LimitError{Limit: LimitSharedStrings, Max: int64(maxCount), Part: f.Name}
			}
			text, err = sc.readRich(text[:0], p.limits.MaxCellBytes)
			if err == errTextTooLong {
				return &LimitError{Limit: LimitCellBytes, Max: int64(p.limits.MaxCellBytes), Part: f.Name}
			}
			if err != nil {
				return err
			}
			before := len(chunk)
			chunk = unescapeBstr(chunk, text)
			if total += int64(len(chunk) - before); total > maxBytes {
				return &LimitError{Limit: LimitSharedStringsBytes, Max: maxBytes, Part: f.Name}
			}
			spans = append(spans, len(chunk))
			if len(chunk) >= sstChunk {
				flush()
			}
		default:
			if err := sc.skipElement(); err != nil {
				return err
			}
		}
	}
	flush()
	return nil
}

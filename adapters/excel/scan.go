package excel

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

// scanner is a small, allocation-free XML tokenizer over a byte stream,
// made for the two big parts of a workbook (the worksheet and the shared
// strings). It knows just enough XML for them: start, end and empty tags
// with attributes, character data with the five predefined entities and
// character references, CDATA sections, comments and processing
// instructions. A DOCTYPE is refused (no spreadsheet has one, and it could
// declare entities). Names are compared by their local part, so prefixed
// elements (<x:row>) read like plain ones. Everything returned as a slice
// points into the buffer and is valid only until the next call.
type scanner struct {
	src  io.Reader
	part string
	buf  []byte
	pos  int
	end  int
	eof  bool
	rerr error // a read error other than io.EOF

	// The current tag, after nextTag.
	name      []byte // local name
	attrs     []byte // the bytes between the name and '>' (or "/>")
	selfClose bool

	scratch []byte // attribute values with entities
}

const (
	scanBufSize = 128 << 10
	maxTagBytes = 1 << 20 // a start tag longer than this is damage, not data
)

type tagKind uint8

const (
	tagEOF tagKind = iota
	tagStart
	tagEnd
)

func newScanner(src io.Reader, part string) *scanner {
	return &scanner{src: src, part: part, buf: make([]byte, scanBufSize)}
}

// errTextTooLong is returned by readText when the text passes its bound;
// the caller turns it into a LimitError that says where.
var errTextTooLong = errors.New("text too long")

func (s *scanner) fail(detail string) error {
	return corrupt(s.part, detail, nil)
}

// readErr turns the end of the input into the right error: the reader's
// own error (a limit, a bad inflate stream) or an unexpected end.
func (s *scanner) readErr() error {
	if s.rerr != nil {
		var le *LimitError
		if errors.As(s.rerr, &le) {
			return le
		}
		return corrupt(s.part, "the data cannot be unpacked", s.rerr)
	}
	return s.fail("the XML ends too early")
}

// fill reads more input, keeping buf[pos:end]. It grows the buffer when
// it is full, up to maxTagBytes. It reports whether any byte was added.
func (s *scanner) fill() bool {
	if s.eof {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= maxTagBytes {
			return false
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := s.src.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.eof, s.rerr = true, io.ErrNoProgress
	return false
}

// ensure makes n bytes available at pos, if the input has them.
func (s *scanner) ensure(n int) bool {
	for s.end-s.pos < n {
		if !s.fill() {
			return false
		}
	}
	return true
}

// hasPrefix reports whether the input at pos starts with p.
func (s *scanner) hasPrefix(p string) bool {
	if !s.ensure(len(p)) {
		return false
	}
	return string(s.buf[s.pos:s.pos+len(p)]) == p
}

// skipPast moves pos past the next occurrence of marker.
func (s *scanner) skipPast(marker string) error {
	for {
		if i := bytes.Index(s.buf[s.pos:s.end], []byte(marker)); i >= 0 {
			s.pos += i + len(marker)
			return nil
		}
		// Keep the last len(marker)-1 bytes: the marker may straddle.
		if keep := len(marker) - 1; s.end-s.pos > keep {
			s.pos = s.end - keep
		}
		if !s.fill() {
			return s.readErr()
		}
	}
}

// nextTag moves to the next start or end tag, skipping character data,
// comments, processing instructions and CDATA between them. It sets name,
// attrs and selfClose.
func (s *scanner) nextTag() (tagKind, error) {
	for {
		i := 0
		if s.pos >= s.end || s.buf[s.pos] != '<' {
			i = bytes.IndexByte(s.buf[s.pos:s.end], '<')
		}
		if i < 0 {
			s.pos = s.end
			if !s.fill() {
				if s.rerr != nil {
					return tagEOF, s.readErr()
				}
				return tagEOF, nil
			}
			continue
		}
		s.pos += i
		if !s.ensure(2) {
			return tagEOF, s.readErr()
		}
		switch s.buf[s.pos+1] {
		case '?':
			if err := s.skipPast("?>"); err != nil {
				return tagEOF, err
			}
			continue
		case '!':
			if err := s.skipMarkup(); err != nil {
				return tagEOF, err
			}
			continue
		}
		return s.readTag()
	}
}

// skipMarkup skips a comment or a CDATA section at pos ("<!").
func (s *scanner) skipMarkup() error {
	switch {
	case s.hasPrefix("<!--"):
		s.pos += 4
		return s.skipPast("-->")
	case s.hasPrefix("<![CDATA["):
		s.pos += 9
		return s.skipPast("]]>")
	default:
		return s.fail("unexpected markup declaration (a DOCTYPE?)")
	}
}

// tagSpecial marks the bytes readTag stops at.
var tagSpecial = func() (t [256]bool) {
	t['>'], t['"'], t['\''], t['<'] = true, true, true, true
	return t
}()

// readTag reads the tag at pos ('<' followed by a name or '/').
func (s *scanner) readTag() (tagKind, error) {
	var tag []byte
	// The common case, found with vectorised searches: the first '>' ends
	// the tag because no quoted value holds one.
	if b := s.buf[s.pos:s.end]; len(b) > 1 {
		if j := bytes.IndexByte(b[1:], '>'); j >= 0 {
			t := b[1 : j+1]
			if bytes.Count(t, []byte{'"'})%2 == 0 && bytes.IndexByte(t, '\'') < 0 && bytes.IndexByte(t, '<') < 0 {
				tag = t
				s.pos += j + 2
			}
		}
	}
	for tag == nil {
		// Find the closing '>' outside quoted attribute values.
		b := s.buf[s.pos:s.end]
		i, end := 1, -1
		for i < len(b) {
			c := b[i]
			if !tagSpecial[c] {
				i++
				continue
			}
			if c == '>' {
				end = i
				break
			}
			if c == '<' {
				return tagEOF, s.fail("'<' inside a tag")
			}
			// A quoted attribute value, which may hold '>'.
			i++
			for i < len(b) && b[i] != c {
				i++
			}
			i++
		}
		if end >= 0 {
			tag = b[1:end]
			s.pos += end + 1
			break
		}
		if !s.fill() {
			if s.end-s.pos >= maxTagBytes {
				return tagEOF, s.fail("a tag is too long")
			}
			return tagEOF, s.readErr()
		}
	}
	kind := tagStart
	if len(tag) > 0 && tag[0] == '/' {
		kind = tagEnd
		tag = tag[1:]
	}
	s.selfClose = false
	if kind == tagStart && len(tag) > 0 && tag[len(tag)-1] == '/' {
		s.selfClose = true
		tag = tag[:len(tag)-1]
	}
	n, colon := 0, -1
	for n < len(tag) {
		c := tag[n]
		if c <= ' ' {
			break
		}
		if c == ':' {
			colon = n
		}
		n++
	}
	if n == 0 {
		return tagEOF, s.fail("a tag without a name")
	}
	s.name, s.attrs = tag[colon+1:n], tag[n:]
	return kind, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// skipElement skips the rest of the element whose start tag was just read.
func (s *scanner) skipElement() error {
	if s.selfClose {
		return nil
	}
	depth := 1
	for depth > 0 {
		k, err := s.nextTag()
		if err != nil {
			return err
		}
		switch k {
		case tagEOF:
			return s.fail("the XML ends inside an element")
		case tagStart:
			if !s.selfClose {
				depth++
			}
		case tagEnd:
			depth--
		}
	}
	return nil
}

// nextAttr returns the attribute of attrs at i: its local name and raw
// value, and where the next one starts. ok is false at the end; err is set
// when the attributes are malformed.
func nextAttr(attrs []byte, i int) (name, val []byte, next int, ok bool, err bool) {
	for i < len(attrs) && isSpace(attrs[i]) {
		i++
	}
	if i >= len(attrs) {
		return nil, nil, i, false, false
	}
	j := i
	for j < len(attrs) && attrs[j] != '=' && !isSpace(attrs[j]) {
		j++
	}
	name = attrs[i:j]
	for j < len(attrs) && isSpace(attrs[j]) {
		j++
	}
	if j >= len(attrs) || attrs[j] != '=' || len(name) == 0 {
		return nil, nil, j, false, true
	}
	j++
	for j < len(attrs) && isSpace(attrs[j]) {
		j++
	}
	if j >= len(attrs) || (attrs[j] != '"' && attrs[j] != '\'') {
		return nil, nil, j, false, true
	}
	q := attrs[j]
	k := j + 1
	for k < len(attrs) && attrs[k] != q {
		k++
	}
	if k >= len(attrs) {
		return nil, nil, j, false, true
	}
	val = attrs[j+1 : k]
	if len(name) > 1 {
		for c := len(name) - 1; c >= 0; c-- {
			if name[c] == ':' {
				name = name[c+1:]
				break
			}
		}
	}
	return name, val, k + 1, true, false
}

// attrValue decodes the entities of an attribute value (rare: the values
// the reader needs are cell references, numbers and type codes).
func (s *scanner) attrValue(v []byte) ([]byte, error) {
	if bytes.IndexByte(v, '&') < 0 {
		return v, nil
	}
	out := s.scratch[:0]
	for len(v) > 0 {
		i := bytes.IndexByte(v, '&')
		if i < 0 {
			out = append(out, v...)
			break
		}
		out = append(out, v[:i]...)
		v = v[i:]
		j := bytes.IndexByte(v, ';')
		if j < 0 {
			return nil, s.fail("a bad entity in an attribute")
		}
		var ok bool
		out, ok = appendEntity(out, v[1:j])
		if !ok {
			return nil, s.fail("a bad entity in an attribute")
		}
		v = v[j+1:]
	}
	s.scratch = out
	return out, nil
}

// appendEntity appends the character that the entity name (between '&'
// and ';') stands for.
func appendEntity(dst, name []byte) ([]byte, bool) {
	switch string(name) {
	case "lt":
		return append(dst, '<'), true
	case "gt":
		return append(dst, '>'), true
	case "amp":
		return append(dst, '&'), true
	case "quot":
		return append(dst, '"'), true
	case "apos":
		return append(dst, '\''), true
	}
	if len(name) < 2 || name[0] != '#' {
		return dst, false
	}
	var n uint64
	var err error
	if name[1] == 'x' {
		n, err = strconv.ParseUint(string(name[2:]), 16, 32)
	} else {
		n, err = strconv.ParseUint(string(name[1:]), 10, 32)
	}
	if err != nil || !isXMLChar(rune(n)) {
		return dst, false
	}
	return utf8.AppendRune(dst, rune(n)), true
}

// isXMLChar reports whether r may appear in an XML 1.0 document.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// textSpecial marks the bytes that end a run of plain character data.
var textSpecial = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t' && c != '\n'
	}
	t['<'], t['&'] = true, true
	return t
}()

// readText appends the character data at pos to dst, up to the next tag
// (which it leaves unread), decoding entities and CDATA, skipping comments
// and normalising line ends as XML does. It fails with errTextTooLong when
// dst would pass max bytes.
func (s *scanner) readText(dst []byte, max int) ([]byte, error) {
	for {
		if s.pos >= s.end && !s.fill() {
			return dst, s.readErr()
		}
		b := s.buf[s.pos:s.end]
		i := 0
		for i < len(b) && !textSpecial[b[i]] {
			i++
		}
		if len(dst)+i > max {
			return dst, errTextTooLong
		}
		dst = append(dst, b[:i]...)
		s.pos += i
		if i == len(b) {
			continue
		}
		switch c := b[i]; c {
		case '<':
			if !s.ensure(2) {
				return dst, s.readErr()
			}
			if s.buf[s.pos+1] != '!' {
				if !utf8.Valid(dst) {
					return dst, s.fail("text that is not UTF-8")
				}
				return dst, nil
			}
			if s.hasPrefix("<!--") {
				s.pos += 4
				if err := s.skipPast("-->"); err != nil {
					return dst, err
				}
				continue
			}
			if !s.hasPrefix("<![CDATA[") {
				return dst, s.fail("unexpected markup declaration")
			}
			s.pos += 9
			var err error
			if dst, err = s.readCDATA(dst, max); err != nil {
				return dst, err
			}
		case '&':
			j := -1
			for n := 3; n <= 12; n++ {
				if !s.ensure(n) {
					break
				}
				if s.buf[s.pos+n-1] == ';' {
					j = n - 1
					break
				}
			}
			if j < 0 {
				return dst, s.fail("a bad entity")
			}
			var ok bool
			if dst, ok = appendEntity(dst, s.buf[s.pos+1:s.pos+j]); !ok {
				return dst, s.fail("a bad entity")
			}
			if len(dst) > max {
				return dst, errTextTooLong
			}
			s.pos += j + 1
		case '\r':
			if len(dst)+1 > max {
				return dst, errTextTooLong
			}
			dst = append(dst, '\n')
			s.pos++
			if s.ensure(1) && s.buf[s.pos] == '\n' {
				s.pos++
			}
		default:
			return dst, s.fail("a control character in text")
		}
	}
}

// readCDATA appends a CDATA section's content (pos is past "<![CDATA[").
func (s *scanner) readCDATA(dst []byte, max int) ([]byte, error) {
	for {
		b := s.buf[s.pos:s.end]
		i := bytes.Index(b, []byte("]]>"))
		n := i
		if i < 0 {
			n = len(b) - 2 // "]]>" may straddle the buffer's end
			if n > 0 && b[n-1] == '\r' {
				n-- // and so may "\r\n"
			}
			if n < 0 {
				n = 0
			}
		}
		seg := b[:n]
		for len(seg) > 0 {
			k := bytes.IndexByte(seg, '\r')
			if k < 0 {
				if len(dst)+len(seg) > max {
					return dst, errTextTooLong
				}
				dst = append(dst, seg...)
				break
			}
			if len(dst)+k+1 > max {
				return dst, errTextTooLong
			}
			dst = append(dst, seg[:k]...)
			dst = append(dst, '\n')
			if k+1 < len(seg) && seg[k+1] == '\n' {
				k++
			}
			seg = seg[k+1:]
		}
		s.pos += n
		if i >= 0 {
			s.pos += 3
			return dst, nil
		}
		if !s.fill() {
			return dst, s.readErr()
		}
	}
}

// consume moves past lit if the buffered input starts with it: a fast
// path for the tags that writers spell one way (<v>, </c>, </row>). When
// it reports false nothing is consumed and the general path follows.
func (s *scanner) consume(lit string) bool {
	if s.end-s.pos < len(lit) || string(s.buf[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	s.pos += len(lit)
	return true
}

// readValue appends the text of the element whose start tag was just
// consumed, in the common case where it is plain text followed by endLit
// (say "</v>") in the buffer; otherwise it reads the element the general
// way, and reports false when the caller still has to read past endLit's
// further end tags (see readInline).
func (s *scanner) readValue(dst []byte, max int, endLit string) ([]byte, bool, error) {
	b := s.buf[s.pos:s.end]
	i := 0
	for i < len(b) && !textSpecial[b[i]] {
		i++
	}
	if i <= max && len(b)-i >= len(endLit) && string(b[i:i+len(endLit)]) == endLit {
		text := b[:i]
		for _, c := range text {
			if c >= utf8.RuneSelf {
				if !utf8.Valid(text) {
					return dst, true, s.fail("text that is not UTF-8")
				}
				break
			}
		}
		s.pos += i + len(endLit)
		return append(dst, text...), true, nil
	}
	dst, err := s.readElementText(dst, max)
	return dst, false, err
}

// readInline reads an inline string after "<is><t>" was consumed.
func (s *scanner) readInline(dst []byte, max int) ([]byte, error) {
	dst, whole, err := s.readValue(dst, max, "</t></is>")
	if err != nil || whole {
		return dst, err
	}
	return s.richBody(dst, max) // the rest of <is>
}

// readRich appends the text of an <si> or <is> element whose start tag was
// just read: its own <t> and the <t> of each rich-text run <r>, but not the
// phonetic runs <rPh> (as Excel and excelize show it).
func (s *scanner) readRich(dst []byte, max int) ([]byte, error) {
	if s.selfClose {
		return dst, nil
	}
	return s.richBody(dst, max)
}

func (s *scanner) richBody(dst []byte, max int) ([]byte, error) {
	inRun := false
	for {
		k, err := s.nextTag()
		if err != nil {
			return dst, err
		}
		switch k {
		case tagEOF:
			return dst, s.fail("the XML ends inside a text")
		case tagEnd:
			if !inRun {
				return dst, nil
			}
			inRun = false
		case tagStart:
			switch {
			case string(s.name) == "t":
				if !s.selfClose {
					if dst, err = s.readElementText(dst, max); err != nil {
						return dst, err
					}
				}
			case string(s.name) == "r" && !inRun:
				inRun = !s.selfClose
			default:
				if err := s.skipElement(); err != nil {
					return dst, err
				}
			}
		}
	}
}

// readElementText appends the character data of the element whose start
// tag was just read, up to its end tag; the text of elements nested in it
// (there should be none) is skipped.
func (s *scanner) readElementText(dst []byte, max int) ([]byte, error) {
	for {
		var err error
		if dst, err = s.readText(dst, max); err != nil {
			return dst, err
		}
		k, err := s.nextTag()
		if err != nil {
			return dst, err
		}
		switch k {
		case tagEnd:
			return dst, nil
		case tagStart:
			if err := s.skipElement(); err != nil {
				return dst, err
			}
		default:
			return dst, s.fail("the XML ends inside a text")
		}
	}
}

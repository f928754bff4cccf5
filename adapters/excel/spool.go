package excel

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// rowSpool keeps the rows the first pass of an import read, decoded, in a
// temporary file, so that the second pass reads them from there instead of
// unpacking and parsing the sheet's XML again (half the cost of reading a
// file). The second pass may read while the first still writes: it reads
// what has been flushed and waits for more (spoolRows).
//
// A row is written as: its number, its cell count and the length of its
// text (uvarints); each cell's kind, formula flag and number format (an
// index into the formats written so far, 0 for a new format whose text
// follows); then the texts of its cells, one after the other, so that a
// row read back is one string that its cells' texts are parts of.
type rowSpool struct {
	f *os.File
	w *bufio.Writer
	// formats numbers the number formats written so far, from 1.
	formats map[string]uint64
	buf     []byte

	mu      sync.Mutex
	changed *sync.Cond
	flushed int64 // bytes of f that readers may read
	ended   bool
	endErr  error // the first pass's error when it ended early
	// stopped: the readers were told to stop (abandonReaders).
	stopped  bool
	closed   bool
	pendingN int // rows buffered since the last flush
}

// spoolFlushRows is how many rows the first pass writes between two
// flushes that readers can see: often enough that the second pass, which
// starts at the same time, is never kept waiting long.
const spoolFlushRows = 256

// errSpoolAbandoned is what the second pass reads when the first pass
// ended early: its own error (a file error) is the import's.
var errSpoolAbandoned = errors.New("the first reading of the file ended early")

// newRowSpool makes the spool's file in dir (os.TempDir() when "").
func newRowSpool(dir string) (*rowSpool, error) {
	f, err := os.CreateTemp(dir, "kirjuri-import-rows-*")
	if err != nil {
		return nil, err
	}
	s := &rowSpool{f: f, w: bufio.NewWriterSize(f, 256<<10), formats: map[string]uint64{}}
	s.changed = sync.NewCond(&s.mu)
	return s, nil
}

// add writes a row; readers see it at the next flush.
func (s *rowSpool) add(r Row) error {
	b := s.buf[:0]
	text := 0
	for _, c := range r.Cells {
		text += len(c.Text)
	}
	b = binary.AppendUvarint(b, uint64(r.Number))
	b = binary.AppendUvarint(b, uint64(len(r.Cells)))
	b = binary.AppendUvarint(b, uint64(text))
	for _, c := range r.Cells {
		flags := byte(0)
		if c.Formula {
			flags = 1
		}
		b = append(b, byte(c.Kind), flags)
		if i, ok := s.formats[c.Format]; ok {
			b = binary.AppendUvarint(b, i)
		} else {
			s.formats[c.Format] = uint64(len(s.formats) + 1)
			b = binary.AppendUvarint(b, 0)
			b = binary.AppendUvarint(b, uint64(len(c.Format)))
			b = append(b, c.Format...)
		}
		b = binary.AppendUvarint(b, uint64(len(c.Text)))
	}
	for _, c := range r.Cells {
		b = append(b, c.Text...)
	}
	s.buf = b
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	if s.pendingN++; s.pendingN >= spoolFlushRows {
		return s.flush()
	}
	return nil
}

// flush makes what was added readable.
func (s *rowSpool) flush() error {
	s.pendingN = 0
	if err := s.w.Flush(); err != nil {
		return err
	}
	n, err := s.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.flushed = n
	s.mu.Unlock()
	s.changed.Broadcast()
	return nil
}

// end ends the writing: with err nil every row is there (flushed);
// otherwise the readers stop with errSpoolAbandoned once they have read
// what was flushed.
func (s *rowSpool) end(err error) {
	if err == nil {
		err = s.flush()
	}
	s.mu.Lock()
	if !s.ended {
		s.ended, s.endErr = true, err
	}
	s.mu.Unlock()
	s.changed.Broadcast()
}

// abandonReaders makes the readers stop at once with errSpoolAbandoned,
// waking one that waits for rows (the second pass was stopped); the
// writer goes on.
func (s *rowSpool) abandonReaders() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.changed.Broadcast()
}

// close removes the file; call it when neither pass reads any more.
func (s *rowSpool) close() {
	s.mu.Lock()
	closed := s.closed
	s.closed = true
	s.mu.Unlock()
	if !closed {
		_ = s.f.Close()
		_ = os.Remove(s.f.Name())
	}
}

// rows reads the spool's rows from the start: Next, Row and Err as a
// Reader's.
func (s *rowSpool) rows() *spoolRows {
	return &spoolRows{s: s, r: bufio.NewReaderSize(&spoolReader{s: s}, 256<<10), formats: []string{""}}
}

// spoolReader reads the spool's file up to what was flushed, and waits
// for more until the writing ends.
type spoolReader struct {
	s   *rowSpool
	off int64
}

func (r *spoolReader) Read(p []byte) (int, error) {
	s := r.s
	s.mu.Lock()
	for r.off >= s.flushed && !s.ended && !s.stopped {
		s.changed.Wait()
	}
	flushed, ended, endErr, stopped := s.flushed, s.ended, s.endErr, s.stopped
	s.mu.Unlock()
	if stopped {
		return 0, errSpoolAbandoned
	}
	if r.off >= flushed {
		if ended && endErr != nil {
			return 0, errSpoolAbandoned
		}
		return 0, io.EOF
	}
	if int64(len(p)) > flushed-r.off {
		p = p[:flushed-r.off]
	}
	n, err := s.f.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// spoolRows decodes the rows of a spool.
type spoolRows struct {
	s       *rowSpool
	r       *bufio.Reader
	formats []string // by index; 0 is unused
	row     Row
	text    []byte
	lens    []int
	err     error
}

// Next reads the next row; false at the end or on an error (Err).
func (d *spoolRows) Next() bool {
	if d.err != nil {
		return false
	}
	if err := d.read(); err != nil {
		if err != io.EOF {
			d.err = err
		}
		return false
	}
	return true
}

func (d *spoolRows) read() error {
	num, err := binary.ReadUvarint(d.r)
	if err != nil {
		return err // io.EOF between rows: the end
	}
	n, err := d.uvarint()
	if err != nil {
		return err
	}
	text, err := d.uvarint()
	if err != nil {
		return err
	}
	// The lengths come from our own file, but a damaged one must not
	// make us allocate without bound.
	if n > 1<<16 || text > 1<<31 {
		return fmt.Errorf("row spool: a row of %d cells and %d bytes of text", n, text)
	}
	cells := d.row.Cells[:0]
	lens := d.lens[:0]
	for range n {
		kind, err := d.r.ReadByte()
		if err != nil {
			return unexpected(err)
		}
		flags, err := d.r.ReadByte()
		if err != nil {
			return unexpected(err)
		}
		fi, err := d.uvarint()
		if err != nil {
			return err
		}
		if fi == 0 {
			l, err := d.uvarint()
			if err != nil {
				return err
			}
			b := make([]byte, l)
			if _, err := io.ReadFull(d.r, b); err != nil {
				return unexpected(err)
			}
			d.formats = append(d.formats, string(b))
			fi = uint64(len(d.formats) - 1)
		}
		if fi >= uint64(len(d.formats)) {
			return fmt.Errorf("row spool: number format %d of %d", fi, len(d.formats))
		}
		l, err := d.uvarint()
		if err != nil {
			return err
		}
		lens = append(lens, int(l))
		cells = append(cells, Cell{Kind: Kind(kind), Formula: flags == 1, Format: d.formats[fi]})
	}
	if cap(d.text) < int(text) {
		d.text = make([]byte, text)
	}
	b := d.text[:text]
	if _, err := io.ReadFull(d.r, b); err != nil {
		return unexpected(err)
	}
	all := string(b) // one string for the row; the cells' texts are parts of it
	off := 0
	for i, l := range lens {
		if off+l > len(all) {
			return errors.New("row spool: cell texts longer than the row's")
		}
		cells[i].Text = all[off : off+l]
		off += l
	}
	d.row = Row{Number: int(num), Cells: cells}
	d.lens = lens
	return nil
}

func (d *spoolRows) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(d.r)
	return v, unexpected(err)
}

// unexpected is err, with an end of file within a row made unexpected.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Row is the row Next read; its cells are reused by the next Next.
func (d *spoolRows) Row() Row { return d.row }

// Err is the error that stopped Next, nil at the end of the rows.
func (d *spoolRows) Err() error { return d.err }

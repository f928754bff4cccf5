package excel

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// spoolAll writes rows to a new spool, ends it and reads them back.
func spoolAll(t *testing.T, rows []Row) []Row {
	t.Helper()
	sp, err := newRowSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	for _, r := range rows {
		if err := sp.add(r); err != nil {
			t.Fatal(err)
		}
	}
	sp.end(nil)
	var out []Row
	rd := sp.rows()
	for rd.Next() {
		r := rd.Row()
		out = append(out, Row{Number: r.Number, Cells: append([]Cell(nil), r.Cells...)})
	}
	if err := rd.Err(); err != nil {
		t.Fatalf("reading the spool: %v", err)
	}
	return out
}

// TestSpoolKeepsEveryRowAsRead: every row of every readable fixture (files
// of office suites and of code), read back from the spool, is the row the
// reader gave: number, and each cell's text, kind, formula flag and number
// format.
func TestSpoolKeepsEveryRowAsRead(t *testing.T) {
	var files []string
	for _, pattern := range []string{"testdata/*.xlsx", "testdata/external/*.xlsx"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	read := 0
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var rows []Row
		rd, err := NewReader(strings.NewReader(string(data)), int64(len(data)), DefaultLimits())
		if err != nil {
			continue // not a readable workbook (the bad-file corpus)
		}
		for rd.Next() {
			r := rd.Row()
			rows = append(rows, Row{Number: r.Number, Cells: append([]Cell(nil), r.Cells...)})
		}
		rd.Close()
		if rd.Err() != nil || len(rows) == 0 {
			continue
		}
		read++
		if got := spoolAll(t, rows); !reflect.DeepEqual(got, rows) {
			t.Errorf("%s: the spool gave back other rows", name)
		}
	}
	if read < 10 {
		t.Fatalf("only %d fixtures read: the test checks too little", read)
	}
	// Edge cases no fixture has: an empty text, a long one, a row of no
	// cells, formats first seen late, numbers past a varint's first byte.
	odd := []Row{
		{Number: 2},
		{Number: 3, Cells: []Cell{{}, {Text: "x", Kind: String}}},
		{Number: 1 << 20, Cells: []Cell{{Text: strings.Repeat("ä", 40000), Kind: String, Format: "@"},
			{Text: "100", Kind: Number, Format: "00000", Formula: true}, {Text: "#DIV/0!", Kind: Error}}},
		{Number: 1<<20 + 1, Cells: []Cell{{Text: "1", Kind: Number, Format: "00000"}, {Text: "2", Kind: Date, Format: "yyyy-mm-dd"}}},
	}
	got := spoolAll(t, odd)
	for i := range odd {
		if odd[i].Cells == nil {
			odd[i].Cells = []Cell{}
		}
		if got[i].Cells == nil {
			got[i].Cells = []Cell{}
		}
	}
	if !reflect.DeepEqual(got, odd) {
		t.Errorf("odd rows: got %+v", got)
	}
}

// TestSpoolReadBehindTheWriter: a reader that starts with the writer sees
// each row once it is flushed and waits for the rest; when the writing
// ends early it stops after the rows that were flushed, and a reader told
// to stop (abandonReaders) stops at once, even while it waits.
func TestSpoolReadBehindTheWriter(t *testing.T) {
	sp, err := newRowSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	rd := sp.rows()
	got := make(chan int, 1000)
	done := make(chan error, 1)
	go func() {
		for rd.Next() {
			got <- rd.Row().Number
		}
		done <- rd.Err()
	}()
	n := spoolFlushRows + 10
	for i := range n {
		if err := sp.add(textRow(i+2, "a")); err != nil {
			t.Fatal(err)
		}
	}
	// The first spoolFlushRows rows were flushed; the reader has them and
	// waits for the rest.
	for i := range spoolFlushRows {
		select {
		case num := <-got:
			if num != i+2 {
				t.Fatalf("row %d, want %d", num, i+2)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the reader did not get row %d, flushed", i+2)
		}
	}
	select {
	case num := <-got:
		t.Fatalf("the reader read row %d before it was flushed", num)
	case err := <-done:
		t.Fatalf("the reader stopped before the writing ended: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	stop := errors.New("a file error")
	sp.end(stop) // flushes nothing: the last 10 rows are not the file's
	if err := <-done; !errors.Is(err, errSpoolAbandoned) {
		t.Errorf("after the writing ended early: %v, want errSpoolAbandoned", err)
	}
	if len(got) != 0 {
		t.Errorf("%d rows read that were never flushed", len(got))
	}

	// A reader waiting for rows is woken and stopped by abandonReaders.
	sp2, err := newRowSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp2.close()
	rd2 := sp2.rows()
	done2 := make(chan error, 1)
	go func() {
		for rd2.Next() {
		}
		done2 <- rd2.Err()
	}()
	time.Sleep(20 * time.Millisecond)
	sp2.abandonReaders()
	select {
	case err := <-done2:
		if !errors.Is(err, errSpoolAbandoned) {
			t.Errorf("abandoned reader: %v, want errSpoolAbandoned", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("abandonReaders did not wake the waiting reader")
	}
}

// TestSpoolDamaged: a spool file cut short or holding nonsense is an
// error, never a panic or a huge allocation.
func TestSpoolDamaged(t *testing.T) {
	for _, data := range [][]byte{
		{2, 1},                          // a row cut after its cell count
		{2, 1, 3, 1, 0, 0, 1},           // a cell cut short
		{2, 1, 3, 1, 0, 7, 3, 'a', 'b'}, // a format never defined
		{2, 0xff, 0xff, 0xff, 0x7f, 1},  // a billion cells
		{2, 1, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 0, 1, 0, 1}, // a huge text
	} {
		sp, err := newRowSpool(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sp.w.Write(data); err != nil {
			t.Fatal(err)
		}
		sp.end(nil)
		rd := sp.rows()
		for rd.Next() {
		}
		if rd.Err() == nil {
			t.Errorf("spool % x: read without an error", data)
		}
		sp.close()
	}
}

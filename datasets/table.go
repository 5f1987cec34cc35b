package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// A table is read row by row: onHeader receives the column names once, then
// onRow receives each row's number (1-based physical line for TSV, 0-based
// row index for parquet), its fields as strings and, for parquet, which
// fields are null (nil for TSV).
type (
	headerFunc func(cols []string) error
	rowFunc    func(line int, fields []string, null []bool)
)

const utf8BOM = "\uFEFF"

// scanTSV reads a GLUE-style TSV file. GLUE TSVs are not CSV-quoted (a '"'
// is literal text), so each line is split on '\t' and nothing else. A
// trailing "\r" is removed; a missing final newline is tolerated.
//
// If headerless is non-nil and the first line does not contain the column
// name marker, the file is taken to have no header: headerless names the
// columns and the first line is a data row (CoLA's train/dev files).
func scanTSV(path string, headerless []string, marker string, onHeader headerFunc, onRow rowFunc) error {
	n, err := scanLines(path, func(line int, s string) error {
		fields := strings.Split(s, "\t")
		if line == 1 {
			isHeader := true
			if headerless != nil {
				isHeader = false
				for _, c := range fields {
					if strings.TrimSpace(c) == marker {
						isHeader = true
						break
					}
				}
			}
			if isHeader {
				cols := make([]string, len(fields))
				for i, c := range fields {
					cols[i] = strings.TrimSpace(c)
				}
				return onHeader(cols)
			}
			if err := onHeader(headerless); err != nil {
				return err
			}
		}
		onRow(line, fields, nil)
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("read %s: empty file (a header row is required)", path)
	}
	return nil
}

// scanParquet reads every row of a parquet file. Column names are the leaf
// column paths joined with "."; every value is rendered as a string (integers
// in decimal, FLOAT with the shortest float32 representation so that 3.8 stays
// 3.8, byte arrays as text).
func scanParquet(path string, onHeader headerFunc, onRow rowFunc) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("open parquet %s: %w", path, err)
	}
	paths := pf.Schema().Columns()
	cols := make([]string, len(paths))
	for i, p := range paths {
		cols[i] = strings.Join(p, ".")
	}
	if err := onHeader(cols); err != nil {
		return err
	}
	reader := parquet.NewReader(pf)
	defer reader.Close()
	buf := make([]parquet.Row, 256)
	fields := make([]string, len(cols))
	null := make([]bool, len(cols))
	rowIndex := 0
	for {
		n, readErr := reader.ReadRows(buf)
		for _, row := range buf[:n] {
			for i := range fields {
				fields[i], null[i] = "", true
			}
			for _, v := range row {
				c := v.Column()
				if c < 0 || c >= len(fields) || v.IsNull() {
					continue
				}
				fields[c], null[c] = parquetValueString(v), false
			}
			onRow(rowIndex, fields, null)
			rowIndex++
		}
		if readErr != nil {
			if errors.Is(readErr, io.EOF) {
				break
			}
			return fmt.Errorf("read parquet %s at row %d: %w", path, rowIndex, readErr)
		}
		if n == 0 {
			break
		}
	}
	return nil
}

func parquetValueString(v parquet.Value) string {
	switch v.Kind() {
	case parquet.Boolean:
		if v.Boolean() {
			return "1"
		}
		return "0"
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	default:
		return v.String()
	}
}

// columnIndex returns the index of the first candidate name present in cols,
// or -1.
func columnIndex(cols []string, candidates []string) int {
	for _, want := range candidates {
		for i, c := range cols {
			if c == want {
				return i
			}
		}
	}
	return -1
}

func parseFiniteFloat(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// scanLines calls onLine with each line of a text file (1-based number,
// without its "\n" or "\r\n"); a missing final newline is tolerated and a
// UTF-8 byte order mark at the start is removed. An error from onLine stops
// the scan and is returned. It returns the number of lines read.
func scanLines(path string, onLine func(line int, s string) error) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	line := 0
	for {
		s, readErr := r.ReadString('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return line, fmt.Errorf("read %s line %d: %w", path, line+1, readErr)
		}
		if s == "" && readErr != nil { // clean end of file
			break
		}
		line++
		s = strings.TrimSuffix(s, "\n")
		s = strings.TrimSuffix(s, "\r")
		if line == 1 {
			s = strings.TrimPrefix(s, utf8BOM)
		}
		if err := onLine(line, s); err != nil {
			return line, err
		}
		if readErr != nil {
			break
		}
	}
	return line, nil
}

// scanCustomTSV reads a user's TSV file: a header row, then one row a line.
// A row is split on tabs, quotes being text (as in GLUE's TSVs); only when
// that gives the wrong number of columns is the row re-read with CSV-style
// double quotes (splitQuotedTSV), and used if that gives the right number.
// Otherwise the row goes to onBad with both counts.
func scanCustomTSV(path string, onHeader headerFunc, onRow rowFunc, onBad func(line int, reason string)) error {
	ncols := 0
	n, err := scanLines(path, func(line int, s string) error {
		fields := strings.Split(s, "\t")
		if line == 1 {
			cols := make([]string, len(fields))
			for i, c := range fields {
				cols[i] = strings.TrimSpace(c)
			}
			ncols = len(cols)
			return onHeader(cols)
		}
		if len(fields) != ncols && strings.Contains(s, `"`) {
			quoted, qerr := splitQuotedTSV(s)
			if qerr == nil && len(quoted) == ncols {
				fields = quoted
			} else {
				reason := fmt.Sprintf("got %d tab-separated columns, want %d; ", len(fields), ncols)
				if qerr != nil {
					reason += "read with CSV-style double quotes: " + qerr.Error()
				} else {
					reason += fmt.Sprintf("read with CSV-style double quotes: %d columns", len(quoted))
				}
				onBad(line, reason)
				return nil
			}
		}
		onRow(line, fields, nil)
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("read %s: empty file (a header row is required)", path)
	}
	return nil
}

// splitQuotedTSV splits one line on tabs, CSV-style: a field that begins
// with a double quote runs to the next double quote followed by a tab or the
// end of the line, may contain tabs, and "" inside it is one quote. A field
// that does not begin with a quote is taken as it is. An opening quote
// without such a closing quote is an error.
func splitQuotedTSV(s string) ([]string, error) {
	var fields []string
	for i, col := 0, 1; ; col++ {
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] != '"' {
					b.WriteByte(s[j])
					j++
					continue
				}
				if j+1 < len(s) && s[j+1] == '"' { // "" is one quote
					b.WriteByte('"')
					j += 2
					continue
				}
				if j+1 == len(s) || s[j+1] == '\t' {
					closed = true
					j++
					break
				}
				return nil, fmt.Errorf("field %d: the quote closing at byte %d is followed by %q, not a tab or the end of the line", col, j+1, s[j+1])
			}
			if !closed {
				return nil, fmt.Errorf("field %d: the double quote opened at byte %d is not closed on this line", col, i+1)
			}
			fields = append(fields, b.String())
			if j == len(s) {
				return fields, nil
			}
			i = j + 1 // past the tab
			continue
		}
		k := strings.IndexByte(s[i:], '\t')
		if k < 0 {
			return append(fields, s[i:]), nil
		}
		fields = append(fields, s[i:i+k])
		i += k + 1
	}
}

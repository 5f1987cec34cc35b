package experiments

import (
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// BurntSushi/toml v1.6.0 records where every key is defined but exposes the position only through the
// ParseError of a failed decode. keyLine uses that: it decodes the document again into a struct that holds only
// the path to the key, ending in a probe whose UnmarshalTOML fails, and reads the line off the error.

var errProbe = errors.New("cyphertalk: key position probe")

type probe struct{}

func (*probe) UnmarshalTOML(any) error { return errProbe }

// keyLine returns the line (1-based) where key is defined in the TOML document data, 0 if unknown. For a key
// inside an array of tables it is the line of its last occurrence.
func keyLine(data string, md *toml.MetaData, key toml.Key) int {
	if len(key) == 0 {
		return 0
	}
	typ := reflect.TypeFor[probe]()
	for i := len(key) - 1; i >= 0; i-- {
		if strings.ContainsAny(key[i], `,"`) { // cannot be written as a struct tag that toml reads back
			return 0
		}
		field := reflect.StructField{Name: "F", Type: typ, Tag: reflect.StructTag(`toml:` + strconv.Quote(key[i]))}
		typ = reflect.StructOf([]reflect.StructField{field})
		if i > 0 && md.Type(key[:i]...) == "ArrayHash" {
			typ = reflect.SliceOf(typ)
		}
	}
	_, err := toml.Decode(data, reflect.New(typ).Interface())
	var pe toml.ParseError
	if errors.As(err, &pe) && pe.Message == errProbe.Error() {
		return pe.Position.Line
	}
	return 0
}

// arrayTableHeader matches the header line of a [[name]] table (name filled in by headerLines).
var arrayTableHeader = `^\s*\[\[\s*%s\s*\]\]\s*(#.*)?$`

// headerLines returns the lines (1-based) of the [[name]] headers of data in order, or nil when their number is
// not want (the array was written inline, or a header sits inside a multi-line string).
func headerLines(data, name string, want int) []int {
	re := regexp.MustCompile(strings.Replace(arrayTableHeader, "%s", regexp.QuoteMeta(name), 1))
	var lines []int
	for i, line := range strings.Split(data, "\n") {
		if re.MatchString(line) {
			lines = append(lines, i+1)
		}
	}
	if len(lines) != want {
		return nil
	}
	return lines
}

package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
)

// JSONError says what went wrong decoding a delivery's JSON without the
// offending value: a string in the body may be personal data, and the
// error is kept as a dead letter's reason and may be logged. in names the
// member the JSON was of ("" for the whole body). Every connector decodes
// its body through it.
func JSONError(err error, in string) error {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		field := ute.Field
		switch {
		case in != "" && field != "":
			field = in + "." + field
		case in != "":
			field = in
		case field == "":
			field = "the body"
		}
		// ute.Value is the JSON kind given ("string", "number"), never the value.
		return fmt.Errorf("%s: must be %s, not %s", field, kindWords(ute.Type), ute.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the JSON ends early")
	}
	if m, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return errors.New("unknown member " + m)
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return errors.New("a time is not in RFC 3339 form")
	}
	return errors.New("invalid JSON")
}

// kindWords says a Go type as a JSON value.
func kindWords(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		if t == reflect.TypeOf(time.Time{}) {
			return "a time (RFC 3339)"
		}
		return "an object"
	}
	return t.Kind().String()
}

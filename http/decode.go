package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"emoney"
)

// maxBody bounds every request body; handlers that take more say so.
const maxBody = 64 << 10

// decodeJSON reads exactly one JSON object from the request body into v (a pointer to a struct),
// strictly: the body must be declared application/json; over limit it is too_large; invalid
// UTF-8, malformed JSON, a field name not spelled exactly as documented, a field given twice, an
// unknown field, a value of the wrong type or out of range, or anything after the object is
// invalid, naming the field where there is one. (encoding/json alone would match names in any
// case and let the last of two duplicates win: what a proxy or log in front of us parsed could
// then differ from what we executed.)
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if limit <= 0 {
		limit = maxBody
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return emoney.FieldError("Content-Type", "send Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return jsonError(err)
	}
	if !utf8.Valid(body) {
		return emoney.Errorf(emoney.EInvalid, "the body is not valid UTF-8")
	}
	if err := checkFieldNames(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return emoney.Errorf(emoney.EInvalid, "the body must hold one JSON object and nothing after it")
	}
	return nil
}

// checkFieldNames walks the top level of the object in body: every name must be one of v's JSON
// field names, spelled exactly, and given once.
func checkFieldNames(body []byte, v any) error {
	names := map[string]bool{}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				names[name] = true
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return jsonError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return emoney.Errorf(emoney.EInvalid, "the body must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(err)
		}
		name, _ := tok.(string)
		if !names[name] {
			return emoney.FieldError(name, "unknown field %q", name)
		}
		if seen[name] {
			return emoney.FieldError(name, "field %q is given twice", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return jsonError(err)
		}
	}
	return nil
}

func isTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// jsonError turns a decoding error into a client error that says what and where.
func jsonError(err error) error {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		mb   *http.MaxBytesError
		text = err.Error()
	)
	switch {
	case errors.As(err, &mb):
		return emoney.Errorf(emoney.ETooLarge, "the body is over %d bytes", mb.Limit)
	case errors.Is(err, io.EOF):
		return emoney.Errorf(emoney.EInvalid, "the body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return emoney.Errorf(emoney.EInvalid, "the body ends in the middle of the JSON")
	case errors.As(err, &syn):
		return emoney.Errorf(emoney.EInvalid, "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return emoney.Errorf(emoney.EInvalid, "the body must be a JSON object")
		}
		return emoney.FieldError(field, "%s must be %s", field, kindName(typ.Type.Kind().String()))
	case strings.HasPrefix(text, "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(text, "json: unknown field "), `"`)
		return emoney.FieldError(field, "unknown field %q", field)
	}
	var e *emoney.Error
	if errors.As(err, &e) { // a field's own UnmarshalJSON / UnmarshalText said why
		return err
	}
	return emoney.Errorf(emoney.EInvalid, "the body is not valid: %s", strings.TrimPrefix(text, "json: "))
}

func kindName(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer in range"
	case k == "float64" || k == "float32":
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice" || k == "array":
		return "a list"
	case k == "struct" || k == "map":
		return "an object"
	}
	return "of another type"
}

// pageQuery reads a list endpoint's paging parameters: limit (1 to 200, default 50) and the
// cursor parameter (an id from the previous page's "next"; zero for the first page). what names
// the listed things in the error.
func pageQuery(r *http.Request, cursor, what string) (limit int, from emoney.ID, err error) {
	q := r.URL.Query()
	limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return 0, emoney.ID{}, emoney.FieldError("limit", "limit must be 1 to 200")
		}
		limit = n
	}
	if v := q.Get(cursor); v != "" {
		if from, err = emoney.ParseID(v); err != nil {
			return 0, emoney.ID{}, emoney.FieldError(cursor, "%s must be %s id from a previous page", cursor, what)
		}
	}
	return limit, from, nil
}

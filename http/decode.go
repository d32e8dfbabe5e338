package http

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"emoney"
)

// maxBody bounds every request body; handlers that take more say so.
const maxBody = 64 << 10

// decodeJSON reads exactly one JSON object from the request body into v, strictly: a body over
// limit is too_large, and malformed JSON, an unknown field, a value of the wrong type or out of
// range, or anything after the object is invalid, naming the field where there is one.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if limit <= 0 {
		limit = maxBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return emoney.FieldError("Content-Type", "send application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		if err != nil && isTooLarge(err) {
			return jsonError(err)
		}
		return emoney.Errorf(emoney.EInvalid, "the body must hold one JSON object and nothing after it")
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

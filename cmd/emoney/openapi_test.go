package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	emhttp "emoney/http"
)

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// checkAgainstSpec fails the test if resp (whose body is body) is not what the OpenAPI document
// says the route answers. Every call the end-to-end tests make goes through it.
func checkAgainstSpec(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(emhttp.OpenAPI())
		if err == nil {
			err = doc.Validate(context.Background())
		}
		if err == nil {
			specRouter, err = legacy.NewRouter(doc)
		}
		specErr = err
	})
	if specErr != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", specErr)
	}
	route, params, err := specRouter.FindRoute(req)
	if err != nil {
		if resp.StatusCode == http.StatusNotFound {
			return // a route the API does not have: the 404 itself is checked by its test
		}
		t.Errorf("%s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d against the OpenAPI document: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
}

func TestOpenAPIServed(t *testing.T) {
	base, _ := startServer(t)
	resp, err := http.Get(base + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(body, emhttp.OpenAPI()) {
		t.Errorf("openapi.json: %d, %d bytes", resp.StatusCode, len(body))
	}
	checkAgainstSpec(t, resp.Request, resp, body)
}

// Command openapi-build writes the OpenAPI 3.1 document the gateway serves, built from the
// Swagger 2.0 document protoc-gen-openapiv2 generates. `make gen` runs it right after
// `buf generate`:
//
//	go run ./internal/openapi/cmd/openapi-build -in gateway/apidocs/retailbridge.swagger.json -out gateway/apidocs/openapi.json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/retailbridge/retailbridge/internal/openapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "openapi-build:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("openapi-build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "the Swagger 2.0 document to read")
	out := fs.String("out", "", "the OpenAPI 3.1 document to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		return errors.New("usage: openapi-build -in SWAGGER.json -out OPENAPI.json")
	}
	swagger, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	doc, err := openapi.Build(ctx, swagger)
	if err != nil {
		return err
	}
	// Written only once the whole document built and validated, so a failed run leaves no
	// half-written file behind for `go:embed` to pick up.
	return os.WriteFile(*out, doc, 0o644)
}

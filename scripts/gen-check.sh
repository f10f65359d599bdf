#!/usr/bin/env bash
# Regenerates the contracts into a scratch copy of the tree and fails when the result differs
# from what is committed.
set -euo pipefail
root=$(pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r buf.yaml buf.gen.yaml go.mod go.sum proto configs "$scratch"/
mkdir -p "$scratch/gateway/apidocs"
(cd "$scratch" && go run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate)
# The served OpenAPI 3.1 document is built from the fresh Swagger output by this tree's builder,
# as `make gen` does.
go run ./internal/openapi/cmd/openapi-build -in "$scratch/gateway/apidocs/retailbridge.swagger.json" \
  -out "$scratch/gateway/apidocs/openapi.json"
status=0
diff -r "$root/pkg/gen" "$scratch/pkg/gen" || status=1
diff "$root/gateway/apidocs/retailbridge.swagger.json" "$scratch/gateway/apidocs/retailbridge.swagger.json" || status=1
diff "$root/gateway/apidocs/openapi.json" "$scratch/gateway/apidocs/openapi.json" || status=1
if [[ $status -ne 0 ]]; then
  echo "generated code is stale: run 'make gen' and commit the result" >&2
  exit 1
fi
echo "generated code is up to date"

#!/usr/bin/env bash
# Fails when the contracts in proto/ break the last released contracts, the buf image committed
# at proto/released/contracts.json (FILE rules from buf.yaml: wire, JSON and generated-code
# compatibility). A committed image, not a git tag, because CI runs on clean clones without tags.
#
# Then it proves the check can fail: in a scratch copy it deletes one released field and renames
# another, and requires buf to refuse both. A guard that cannot fail guards nothing.
set -euo pipefail
buf=(go run github.com/bufbuild/buf/cmd/buf@v1.75.0)
root=$(pwd)
baseline="$root/proto/released/contracts.json"

"${buf[@]}" breaking --against "$baseline"
echo "contracts are compatible with the released contracts"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r buf.yaml proto "$scratch"/
money="$scratch/proto/retailbridge/canonical/v1/money.proto"
sed -i -e '/string currency_code = 2;/d' -e 's/int64 amount_minor = 1;/int64 amount_cents = 1;/' "$money"
if cmp -s "$money" proto/retailbridge/canonical/v1/money.proto; then
  echo "self-test: money.proto no longer has the fields it breaks; update scripts/buf-breaking.sh" >&2
  exit 1
fi
if out=$(cd "$scratch" && "${buf[@]}" breaking --against "$baseline" 2>&1); then
  echo "self-test: buf breaking accepted a deleted and a renamed field" >&2
  exit 1
fi
for want in 'Previously present field "2" with name "currency_code" on message "Money" was deleted' \
  'Field "1" with name "amount_cents" on message "Money" changed option "json_name" from "amountMinor" to "amountCents"'; do
  if ! grep -qF "$want" <<<"$out"; then
    printf 'self-test: buf breaking failed without saying %q:\n%s\n' "$want" "$out" >&2
    exit 1
  fi
done
echo "self-test: a deleted and a renamed field are refused ($(grep -c "\.proto:" <<<"$out") findings)"

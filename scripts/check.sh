#!/usr/bin/env bash
# Static checks: lint + format (Biome), types (tsc), contracts (buf lint, buf breaking).
# Exits non-zero on the first failure, naming it.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
fail() { echo "check: $1 failed" >&2; exit 1; }

biome check . || fail "biome (lint/format; fix with: npx biome check --write .)"
tsc --noEmit -p tsconfig.json || fail "tsc (type check)"
# The web console is browser code: its own config adds the DOM types the rest must not see.
tsc --noEmit -p console/tsconfig.json || fail "tsc (console/, type check)"
buf lint || fail "buf lint"

# buf breaking: contracts may grow, never break. On a branch, compare with main;
# on main itself, compare with the previous commit (CI checks out main).
# The earlier contracts import Google's annotation protos (buf.yaml) from node_modules, which
# git does not hold: they are built into an image with today's buf.yaml and node_modules.
against_image() { # <git ref> → prints the path of an image of that ref's contracts
  local dir
  dir=$(mktemp -d) || return 1
  git archive "$1" proto | tar -x -C "$dir" || return 1
  cp buf.yaml "$dir/" && ln -s "$PWD/node_modules" "$dir/node_modules" || return 1
  buf build "$dir" --exclude-source-info -o "$dir/against.binpb" >&2 || return 1
  echo "$dir/against.binpb"
}
if git rev-parse --git-dir >/dev/null 2>&1; then
  if [[ "$(git rev-parse --abbrev-ref HEAD 2>/dev/null)" != main ]] && git rev-parse -q --verify main >/dev/null; then
    against='main'
  elif git cat-file -e HEAD~1:proto/whaleshark/v1 2>/dev/null; then
    against='HEAD~1'
  else
    against=''
  fi
  if [[ -n "$against" ]]; then
    image=$(against_image "$against") || fail "buf build of the contracts at $against"
    # Both sides as images of the same layout (our module and Google's, which never changes here),
    # checked with the FILE rules of buf.yaml.
    buf build --exclude-source-info -o "$(dirname "$image")/current.binpb" || fail "buf build"
    buf breaking "$(dirname "$image")/current.binpb" --against "$image" --config '{"version":"v2","breaking":{"use":["FILE"]}}' ||
      fail "buf breaking (against $against)"
    rm -rf "$(dirname "$image")"
  else
    echo "check: buf breaking skipped (no earlier contracts to compare with)"
  fi
fi
echo "check: biome, tsc (also console/), buf lint, buf breaking passed"

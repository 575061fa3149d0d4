#!/usr/bin/env bash
# Static checks: lint + format (Biome), types (tsc), contracts (buf lint, buf breaking).
# Exits non-zero on the first failure, naming it.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
fail() { echo "check: $1 failed" >&2; exit 1; }

biome check . || fail "biome (lint/format; fix with: npx biome check --write .)"
tsc --noEmit -p tsconfig.json || fail "tsc (type check)"
buf lint || fail "buf lint"

# buf breaking: contracts may grow, never break. On a branch, compare with main;
# on main itself, compare with the previous commit (CI checks out main).
if git rev-parse --git-dir >/dev/null 2>&1; then
  if [[ "$(git rev-parse --abbrev-ref HEAD 2>/dev/null)" != main ]] && git rev-parse -q --verify main >/dev/null; then
    against='.git#branch=main'
  elif git cat-file -e HEAD~1:proto/whaleshark/v1 2>/dev/null; then
    against='.git#ref=HEAD~1'
  else
    against=''
  fi
  if [[ -n "$against" ]]; then
    # Only our module: the workspace also holds Google's annotation protos (buf.yaml),
    # which older commits did not list, and which are not ours to keep compatible.
    buf breaking proto --against "$against,subdir=proto" || fail "buf breaking (against $against)"
  else
    echo "check: buf breaking skipped (no earlier contracts to compare with)"
  fi
fi
echo "check: biome, tsc, buf lint, buf breaking passed"

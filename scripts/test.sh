#!/usr/bin/env bash
# `npm test`: static checks, then the servers the tests need, then every test
# (unit + cross-process) against real PostgreSQL, Redis, RabbitMQ and ZooKeeper.
# The last line is always `N passed, N failed[, N skipped]`.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

summary() { echo "$1 passed, $2 failed, ${3:-0} skipped"; }

if ! bash scripts/check.sh; then summary 0 1; exit 1; fi
if ! bash scripts/services.sh; then echo "test: could not start the test servers" >&2; summary 0 1; exit 1; fi

rm -f vitest.json
vitest run --reporter=default --reporter=json --outputFile.json=vitest.json "$@"
status=$?
if [[ ! -f vitest.json ]]; then echo "test: vitest wrote no report" >&2; summary 0 1; exit 1; fi
line=$(node -e 'const r=require("./vitest.json");console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests+r.numTodoTests} skipped`)')
counts=$(node -e 'const r=require("./vitest.json");console.log(r.numTotalTests, r.numFailedTests, r.numFailedTestSuites)')
read -r total failed failedSuites <<<"$counts"
# A suite that failed to load counts as a failure even with no failed test in it.
if [[ $status -ne 0 || $failed -ne 0 || $failedSuites -ne 0 || $total -eq 0 ]]; then
  [[ $failed -eq 0 ]] && line="${line/ 0 failed/ 1 failed}"
  echo "$line"
  exit 1
fi
echo "$line"

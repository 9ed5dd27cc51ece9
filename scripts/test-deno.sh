#!/usr/bin/env bash
# The Deno suite (npm run test:deno; scripts/test.sh runs it after the bun suites): the API
# integration tests in test/deno/ against latchkey started by `deno run -A src/main.ts`.
# Writes a JUnit report to test-results/deno.xml for the closing "tests: N passed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
DENO=node_modules/deno/deno
[ -x "$DENO" ] || DENO=$(command -v deno || true)
if [ -z "$DENO" ]; then
  echo "deno is missing: run 'npm ci' first" >&2
  exit 1
fi
mkdir -p test-results
# The dashboard is served from the built bundle (gitignored): build it when missing.
[ -f src/generated/dashboard-assets.ts ] || node_modules/.bin/bun scripts/build.ts --assets || exit 1
# --no-check: the sources are type-checked by `npm run lint` (bun-types); Deno runs them as they are.
# The file is not named *.test.ts, so bun test does not try to run it as its own.
exec "$DENO" test -A --no-check --junit-path=test-results/deno.xml test/deno/api.deno.ts "$@"

#!/usr/bin/env bash
# The test command (npm test): installs the Debian packages the tests need when they are
# missing (as root), builds the dashboard bundle and the binary, runs every suite, and
# ends with "tests: N passed, N failed" summed over the suites' JUnit reports.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUN="$ROOT/node_modules/.bin/bun"

if [ ! -x "$BUN" ]; then
  echo "node_modules is missing: run 'npm ci' first" >&2
  exit 1
fi

declare -A pkg_for=([chromium]=chromium [tmux]=tmux [ip]=iproute2 [curl]=curl [wrk]=wrk [nginx]=nginx [qemu-aarch64-static]=qemu-user-static [systemd-analyze]=systemd [jupyter-notebook]=jupyter-notebook [syncthing]=syncthing [sshd]=openssh-server [ssh]=openssh-client)
missing=()
for cmd in chromium tmux ip curl qemu-aarch64-static systemd-analyze jupyter-notebook syncthing sshd ssh; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_for[$cmd]}")
done
# The arm64 loader and libc, so qemu-aarch64-static can start the linux-arm64 release binary.
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || missing+=(libc6-arm64-cross)
# The Python kernel the compatibility suite's Jupyter runs its cells on (test/compat/).
[ -d /usr/lib/python3/dist-packages/ipykernel ] || missing+=(python3-ipykernel)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian packages for the tests: ${missing[*]}"
    # scripts/apt-get.sh waits for another apt-get or dpkg (DPkg::Lock::Timeout=300) instead of failing at once.
    bash scripts/apt-get.sh update -qq && DEBIAN_FRONTEND=noninteractive bash scripts/apt-get.sh install -y -qq "${missing[@]}" >/dev/null || { echo "apt-get install failed" >&2; exit 1; }
  else
    echo "The tests need these Debian packages. Run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

rm -rf test-results && mkdir -p test-results
"$BUN" scripts/build.ts || { echo "build failed" >&2; echo "tests: 0 passed, 1 failed"; exit 1; }
export LATCHKEY_BUILT_BINARY="$ROOT/dist/latchkey"

# Every temp folder the tests make (data dirs, browser profiles, sockets) goes under one
# folder that is removed at the end, whatever happens; bun test has no run-wide exit hook.
TMPDIR="$(mktemp -d "${TMPDIR:-/tmp}/latchkey-tests-XXXXXX")"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT

status=0
runs_failed=0
main_args=("$@")
side_pid=""
if [ $# -eq 0 ]; then
  # The Syncthing check holds a GUI open for two minutes and mostly waits: it runs beside
  # the rest of the suite instead of after it (CI's budget is 15 minutes).
  SIDE=test/compat/syncthing.test.ts
  "$BUN" test --timeout 30000 --reporter=junit --reporter-outfile=test-results/syncthing.xml "$SIDE" >test-results/syncthing.log 2>&1 &
  side_pid=$!
  main_args=(--path-ignore-patterns="$SIDE")
fi
"$BUN" test --timeout 30000 --reporter=junit --reporter-outfile=test-results/bun.xml "${main_args[@]}" || { status=1; runs_failed=$((runs_failed + 1)); }
if [ -n "$side_pid" ]; then
  wait "$side_pid" || { status=1; runs_failed=$((runs_failed + 1)); }
  echo "--- $SIDE (run beside the suite) ---"
  cat test-results/syncthing.log
fi
if [ -f scripts/test-deno.sh ] && [ $# -eq 0 ]; then
  bash scripts/test-deno.sh || { status=1; runs_failed=$((runs_failed + 1)); }
fi
"$BUN" scripts/junit-summary.ts test-results --runs-failed "$runs_failed"
exit $status

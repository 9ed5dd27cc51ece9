#!/usr/bin/env bash
# apt-get for npm test and .ci/run: waits up to 5 minutes for another apt-get or dpkg (an
# unattended upgrade, a second test run) instead of failing at once on its lock.
# - install: apt's DPkg::Lock::Timeout waits for the dpkg lock.
# - update: apt (2.6) does not apply that timeout to the package lists' lock, so retry while
#   another process holds it; any other failure is reported at once.
set -uo pipefail
WAIT=300

if [ "${1:-}" != update ]; then
  exec apt-get -o DPkg::Lock::Timeout=$WAIT "$@"
fi

deadline=$((SECONDS + WAIT))
told=0
while :; do
  # stderr captured (to look for the lock message), stdout passed through.
  { err=$(apt-get -o DPkg::Lock::Timeout=$WAIT "$@" 2>&1 1>&3 3>&-); } 3>&1
  status=$?
  if [ $status -eq 0 ] || [[ "$err" != *"Could not get lock"* ]] || [ $SECONDS -ge $deadline ]; then
    [ -n "$err" ] && printf '%s\n' "$err" >&2
    exit $status
  fi
  if [ $told -eq 0 ]; then
    echo "Waiting for another apt-get or dpkg to finish (up to ${WAIT}s)..." >&2
    told=1
  fi
  sleep 2
done

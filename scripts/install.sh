#!/bin/sh
# Installs the latchkey executable for this machine:
#   curl -fsSL <release base>/install.sh | sh
#   sh install.sh [--prefix DIR]        installs DIR/bin/latchkey (default DIR: ~/.local)
#
# It reads SHA256SUMS from the release base URL, picks the asset for this OS and CPU
# (latchkey-<version>-<os>-<arch>), downloads it, checks its SHA-256 against SHA256SUMS and
# refuses to install on a mismatch. POSIX sh; needs curl or wget, and sha256sum, shasum or
# openssl.
#
# Environment:
#   LATCHKEY_DOWNLOAD_BASE  where SHA256SUMS and the assets are (default: DEFAULT_BASE below)
#   LATCHKEY_OS, LATCHKEY_ARCH  override detection (e.g. LATCHKEY_ARCH=x64-baseline)
#   LATCHKEY_DOWNLOADER     curl or wget (default: whichever is found first)
set -eu

# Note: a placeholder until the project's release host is settled; the release pipeline
# publishes dist/release/ (npm run release) there.
DEFAULT_BASE="https://github.com/latchkey/latchkey/releases/latest/download"

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

prefix="${HOME:?HOME is not set}/.local"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die 'Option "--prefix" needs a value'; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    -h|--help) sed -n '2,15p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "Unknown option \"$1\" (expected --prefix DIR)" ;;
  esac
done
base=${LATCHKEY_DOWNLOAD_BASE:-$DEFAULT_BASE}
base=${base%/}

# SHA256SUMS fetched over plain http proves nothing, so only a local server may use it.
case "$base" in
  https://*) ;;
  http://127.0.0.1[:/]*|http://localhost[:/]*|http://\[::1\][:/]*) ;;
  *) die "Refusing to download from \"$base\": use an https:// URL" ;;
esac

detect_os() {
  case "$(uname -s)" in
    Linux) echo linux ;;
    Darwin) echo darwin ;;
    MINGW*|MSYS*|CYGWIN*) die 'On Windows, download latchkey-<version>-windows-x64.exe from the release page and run it' ;;
    *) die "No latchkey build for this OS ($(uname -s)); build from source: bun scripts/build.ts" ;;
  esac
}

detect_arch() {
  case "$(uname -m)" in
    x86_64|amd64)
      # A Mac running this shell under Rosetta is really arm64.
      if [ "$1" = darwin ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
        echo arm64
      # The default x64 build needs AVX2; older CPUs get the baseline build.
      elif [ "$1" = linux ] && [ -r /proc/cpuinfo ] && ! grep -qE '^flags.*[[:space:]]avx2([[:space:]]|$)' /proc/cpuinfo; then
        echo x64-baseline
      else
        echo x64
      fi ;;
    aarch64|arm64|armv8*) echo arm64 ;;
    *) die "No latchkey build for this CPU ($(uname -m)); build from source: bun scripts/build.ts" ;;
  esac
}

downloader=${LATCHKEY_DOWNLOADER:-}
if [ -z "$downloader" ]; then
  if command -v curl >/dev/null 2>&1; then downloader=curl
  elif command -v wget >/dev/null 2>&1; then downloader=wget
  else die 'Cannot download: install curl or wget'
  fi
fi
fetch() { # fetch URL FILE
  case "$downloader" in
    curl) curl -fsSL --retry 2 -o "$2" "$1" ;;
    wget) wget -q -O "$2" "$1" ;;
    *) die "LATCHKEY_DOWNLOADER must be curl or wget, not \"$downloader\"" ;;
  esac || die "Cannot download $1"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
  elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 "$1" | sed 's/^.*= *//'
  else die 'Cannot verify the download: install sha256sum, shasum or openssl'
  fi
}

os=${LATCHKEY_OS:-$(detect_os)}
arch=${LATCHKEY_ARCH:-$(detect_arch "$os")}
tmp=$(mktemp -d 2>/dev/null || mktemp -d -t latchkey)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS"
# The one line whose file is latchkey-<version>-<os>-<arch> (exactly: x64 must not match x64-baseline).
line=$(grep -E "^[0-9a-f]{64}  latchkey-[^ ]+-$os-$arch\$" "$tmp/SHA256SUMS" | head -n 1 || true)
[ -n "$line" ] || die "The release has no build for $os-$arch (see $base/SHA256SUMS)"
expected=${line%% *}
asset=${line##* }

say "Downloading $asset"
fetch "$base/$asset" "$tmp/$asset"
actual=$(sha256_of "$tmp/$asset")
if [ "$actual" != "$expected" ]; then
  die "Checksum mismatch for $asset: expected $expected, got $actual. Nothing was installed; the download may be corrupt or tampered with"
fi

bindir="$prefix/bin"
mkdir -p "$bindir" || die "Cannot create $bindir (try --prefix DIR)"
# Copy then rename inside the target folder, so a running latchkey is never half-overwritten.
cp "$tmp/$asset" "$bindir/.latchkey.$$" && chmod 755 "$bindir/.latchkey.$$" && mv -f "$bindir/.latchkey.$$" "$bindir/latchkey" \
  || { rm -f "$bindir/.latchkey.$$"; die "Cannot write $bindir/latchkey (try --prefix DIR)"; }

say "Installed $bindir/latchkey ($asset, sha256 verified)"
case ":${PATH:-}:" in
  *":$bindir:"*) run=latchkey ;;
  *) run="$bindir/latchkey"
     say "$bindir is not on your PATH; add it with:"
     say "  export PATH=\"$bindir:\$PATH\"" ;;
esac
say ''
say 'Start it:'
say "  $run                      dashboard on http://127.0.0.1:3000/"
say "  $run doctor               check this machine's setup"
say "  $run service install      start it at login (systemd user unit or launchd agent)"

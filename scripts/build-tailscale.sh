#!/usr/bin/env bash
# Build the real Tailscale parts the tests run, from the Go module proxy at the versions pinned in
# scripts/tailscale-versions.env: derper (the relay image), tailscaled and tailscale (the client
# nodes), headscale (the control server). Static binaries (CGO_ENABLED=0) in
#   $TAILSCALE_BIN_DIR/tailscale-<version>/{derper,tailscaled,tailscale}
#   $TAILSCALE_BIN_DIR/headscale-<version>/headscale
# (default ~/.cache/derpmgr/bin, shared by every checkout on the machine). A binary already built
# at its version is not built again; the machine's Go caches make a new version quicker.
# Exits non-zero when a build fails or no usable Go is found.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/tailscale-versions.env

BIN_DIR=${TAILSCALE_BIN_DIR:-$(cd ~ && pwd)/.cache/derpmgr/bin}
TAILSCALE_DIR=$BIN_DIR/tailscale-$TAILSCALE_VERSION
HEADSCALE_DIR=$BIN_DIR/headscale-$HEADSCALE_VERSION

built() {  # directory binary…: all of them there and runnable
  local dir=$1
  shift
  for binary in "$@"; do [ -x "$dir/$binary" ] || return 1; done
}

find_go() {
  # The machine's Go (on PATH or in /usr/local/go), else Debian's. One older than GO_MINIMUM
  # builds with GO_FALLBACK, which GOTOOLCHAIN (Go 1.21 and later) fetches from the module proxy.
  local go version
  go=$(command -v go || true)
  [ -z "$go" ] && [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go
  if [ -z "$go" ]; then
    apt_install golang-go >&2 || true
    go=$(command -v go || true)
  fi
  version=$([ -n "$go" ] && GOTOOLCHAIN=local "$go" env GOVERSION 2>/dev/null | sed 's/^go//' || true)
  if [ -z "$version" ] || ! newer_or_same "$version" 1.21; then
    echo "No Go 1.21 or newer here (found: ${go:-none} ${version}); install one to build Tailscale." >&2
    return 1
  fi
  if newer_or_same "$version" "$GO_MINIMUM"; then
    TOOLCHAIN=local
  else
    TOOLCHAIN=$GO_FALLBACK
  fi
  GO=$go
}

newer_or_same() {  # version minimum
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]
}

go_env() {  # command…: the go command as every build here runs it (without its download notes)
  CGO_ENABLED=0 GOTOOLCHAIN=$TOOLCHAIN GOFLAGS=-buildvcs=false "$GO" "$@" \
    2> >(grep -v '^go: \(downloading\|added\|upgraded\|finding\)' >&2)
}

install_tailscale() {
  mkdir -p "$TAILSCALE_DIR"
  local started=$SECONDS
  GOBIN=$TAILSCALE_DIR go_env install "tailscale.com/cmd/derper@$TAILSCALE_VERSION" \
    "tailscale.com/cmd/tailscaled@$TAILSCALE_VERSION" "tailscale.com/cmd/tailscale@$TAILSCALE_VERSION"
  echo "Built Tailscale $TAILSCALE_VERSION in $((SECONDS - started))s"
}

install_headscale() {
  # `go install …@version` would ask the proxy for headscale's version list (for a deprecation
  # notice), which this machine's proxy refuses; a throw-away module that requires the pinned
  # version builds the same binary from the same dependency versions.
  local started=$SECONDS work
  work=$(mktemp -d)
  (
    cd "$work"
    go_env mod init derpmgr.local/headscale-build >/dev/null 2>&1
    go_env get "github.com/juanfont/headscale/cmd/headscale@$HEADSCALE_VERSION"
    go_env build -o "$HEADSCALE_DIR/headscale" github.com/juanfont/headscale/cmd/headscale
  ) || { rm -rf "$work"; return 1; }
  rm -rf "$work"
  echo "Built Headscale $HEADSCALE_VERSION in $((SECONDS - started))s"
}

if built "$TAILSCALE_DIR" derper tailscaled tailscale && built "$HEADSCALE_DIR" headscale; then
  echo "Tailscale $TAILSCALE_VERSION and Headscale $HEADSCALE_VERSION are built ($BIN_DIR)."
  exit 0
fi
find_go
echo "Building with $GO ($TOOLCHAIN toolchain) into $BIN_DIR"
built "$TAILSCALE_DIR" derper tailscaled tailscale || install_tailscale
built "$HEADSCALE_DIR" headscale || install_headscale

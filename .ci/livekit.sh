#!/usr/bin/env bash
# CI: a real LiveKit for tests/e2e. livekit-server is built from the Go module proxy at its
# pinned version with `go install` into a cache outside the repository ($LIVEKIT_BIN_DIR,
# default ~/.cache/livekit-bin) and reused on the next run when its --version matches.
# livekit-sip (CGO: Debian's pkg-config libopus-dev libopusfile-dev libsoxr-dev) is tried too;
# where the proxy refuses github.com/livekit/sip, the tests that need the bridge skip, quoting the
# failed build (recorded next to the cache, scripts/livekit_local.py failure_note).
# Exit 0 when livekit-server is ready (then its e2e tests must run, not skip), 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  for pkg in pkg-config libopus-dev libopusfile-dev libsoxr-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "ci/livekit: installing ${need[*]} (livekit-sip's CGO libraries)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

if ! command -v go >/dev/null 2>&1; then
  echo "ci/livekit: no Go toolchain: livekit-server cannot be built; the e2e tests skip" >&2
  exit 1
fi
python3 -m uv run --locked python scripts/livekit_local.py build --allow-missing-sip
echo "ci/livekit: ready in $(( $(date +%s) - start )) s"

#!/usr/bin/env bash
# Regenerate the telephony caller-phrase fixtures in tests/fixtures/audio/.
#
# Needs (Debian/Ubuntu):  apt-get install -y espeak-ng sox jq
# (jq is optional: without it python3 reads phrases.json).
# CI does NOT run this: the .wav files are committed. Re-run only to add/change phrases.
#
# Output: 8 kHz, mono, 16-bit PCM WAV, one file per entry of phrases.json, with 200 ms of
# leading and 300 ms of trailing silence (so energy detectors see clean speech boundaries).
# Idempotent: sox -R (no random dither) makes reruns byte-identical with the same espeak-ng
# and sox versions; existing files are
# overwritten.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/tests/fixtures/audio"
PHRASES="$OUT/phrases.json"

for bin in espeak-ng sox python3; do
  command -v "$bin" >/dev/null || { echo "missing $bin (apt-get install -y espeak-ng sox)" >&2; exit 1; }
done

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

python3 - "$PHRASES" <<'PY' > "$TMP/list.tsv"
import json, sys
for name, text in json.load(open(sys.argv[1])).items():
    print(f"{name}\t{text}")
PY

while IFS=$'\t' read -r name text; do
  # en-us voice, 160 wpm; espeak-ng writes 22050 Hz WAV
  espeak-ng -v en-us -s 160 -w "$TMP/raw.wav" "$text"
  # resample to 8 kHz mono s16, normalise, pad with silence
  sox -R "$TMP/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$OUT/$name" \
      norm -3 pad 0.2 0.3
  echo "wrote $OUT/$name ($(stat -c %s "$OUT/$name") bytes): $text"
done < "$TMP/list.tsv"

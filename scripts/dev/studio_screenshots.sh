#!/usr/bin/env bash
# Screenshots of the real studio window in every theme, on a home seeded through the CLI.
# Usage: scripts/dev/studio_screenshots.sh [OUT_DIR]   (default: ./artifacts/screenshots, git-ignored)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$repo/artifacts/screenshots}"
venv="$(bash "$repo/scripts/setup.sh" | tail -n 1)"
home="$(mktemp -d /tmp/x121-shots-XXXX)"; chmod 755 "$home"
display=":$((100 + RANDOM % 100))"
mkdir -p "$out"
Xvfb "$display" -screen 0 1600x1000x24 >/dev/null 2>&1 & xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$home"' EXIT
x121() { "$venv/bin/x121" --home "$home" "$@"; }
"$venv/bin/python" -c "import cv2, skimage.data; cv2.imwrite('$home/astronaut.png', cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))"
x121 character add Mara --seed-a "$home/astronaut.png" >/dev/null 2>&1
x121 character add Theo --seed-a "$home/astronaut.png" --project "Spring Campaign" >/dev/null 2>&1
x121 workflow import "$repo/workflows/x121-i2v-modelfree.api.json" --name modelfree >/dev/null
x121 server add http://127.0.0.1:9 --name gpu-01 >/dev/null
for theme in obsidian-dark obsidian-light neon-dark neon-light; do
  printf '[studio]\nversion = 1\ntheme = "%s"\n' "$theme" > "$home/settings.toml"
  DISPLAY=$display "$venv/bin/x121" --home "$home" >/dev/null 2>&1 & pid=$!
  sleep 8
  DISPLAY=$display "$venv/bin/python" "$repo/scripts/dev/grab_screen.py" "$out/studio-$theme.png"
  kill -TERM "$pid"; wait "$pid" || true
done

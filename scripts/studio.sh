#!/usr/bin/env bash
# Sets everything up (see setup.sh), then launches X121 Studio on the embedded database
# (or on X121_DATABASE_URL / --database-url when given). Extra arguments go to `x121`.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$repo/scripts/setup.sh" | tail -n 1)"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "[studio] no display found: running on a virtual X screen (Xvfb). Set DISPLAY to use a real one." >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" "$venv/bin/x121" "$@"
fi
exec "$venv/bin/x121" "$@"

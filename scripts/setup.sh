#!/usr/bin/env bash
# Sets up everything X121 Studio needs on a fresh Debian machine, idempotently:
# Debian packages for Qt (offscreen and under Xvfb), a virtual environment on a
# Python >= 3.12 found on this machine, and the project installed into it.
# Sourced or run; prints the venv path on the last line when run.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${X121_VENV:-$repo/.venv}"

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- Debian packages
# Qt's xcb platform, Mesa GL for QOpenGLWidget under Xvfb, libpulse for QtMultimedia,
# and Xvfb itself so the studio and GL tests can run on a machine without a screen;
# pulseaudio + pulseaudio-utils so the review player's sound is tested on a private null sink.
debs=(xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0
      libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libxkbcommon0 libegl1 libgl1
      libgl1-mesa-dri libfontconfig1 libdbus-1-3 libpulse0 libglib2.0-0 libopengl0
      pulseaudio pulseaudio-utils)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); elif command -v sudo >/dev/null; then sudo_cmd=(sudo); else
    die "Debian packages ${missing[*]} are missing and this user cannot install them; ask an administrator to run: apt-get install ${missing[*]}"
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq >/dev/null || die "apt-get update failed; check the network or the apt sources"
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi

# ---------------------------------------------------------------- Python >= 3.12
py_ok() {  # a candidate must actually run (pyenv shims fail unless selected) and be >= 3.12
  "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}
find_python() {
  local c
  if [ -n "${X121_PYTHON:-}" ]; then py_ok "$X121_PYTHON" && { echo "$X121_PYTHON"; return; }
    die "X121_PYTHON=$X121_PYTHON is not a working Python >= 3.12"; fi
  for c in python3.12 python3.13 python3.14 python3; do
    command -v "$c" >/dev/null 2>&1 && py_ok "$(command -v "$c")" && { command -v "$c"; return; }
  done
  local root=""
  if command -v pyenv >/dev/null 2>&1; then root="$(pyenv root 2>/dev/null || true)"; fi
  [ -n "$root" ] || root="${PYENV_ROOT:-$HOME/.pyenv}"
  if [ -d "$root/versions" ]; then
    # Prefer 3.12 (the tested version), then newer ones.
    for c in $(ls -1 "$root/versions" | grep -E '^3\.(1[2-9])\.[0-9]+$' | sort -t. -k2,2n -k3,3nr); do
      for exe in "$root/versions/$c/bin/python3" "$root/versions/$c/bin/python"; do
        py_ok "$exe" && { echo "$exe"; return; }
      done
    done
  fi
  for c in /usr/bin/python3.1[2-9] /usr/local/bin/python3.1[2-9]; do
    [ -x "$c" ] && py_ok "$c" && { echo "$c"; return; }
  done
  return 1
}

if [ ! -x "$venv/bin/python" ] || ! py_ok "$venv/bin/python"; then
  py="$(find_python)" || die "no Python >= 3.12 found on PATH, among pyenv's versions or in /usr/bin. \
Install one (e.g. 'pyenv install 3.12' or 'apt-get install python3.12 python3.12-venv') or point X121_PYTHON at it."
  say "creating $venv with $py ($("$py" -c 'import sys; print(sys.version.split()[0])'))"
  rm -rf "$venv"
  "$py" -m venv "$venv" || die "could not create a virtual environment with $py (is its venv module installed?)"
fi

# ---------------------------------------------------------------- the project
stamp="$venv/.x121-installed"
want="$(cat "$repo/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing x121-desktop and its dependencies into $venv (first run takes a few minutes)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' >&2 || true
  if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$repo[dev]" 2> "$venv/.pip-errors"; then
    grep -v '^WARNING: Location' "$venv/.pip-errors" >&2 || true
    die "pip install failed (see above)"
  fi
  echo "$want" > "$stamp"
fi
echo "$venv"

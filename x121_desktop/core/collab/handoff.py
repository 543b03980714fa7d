"""Single-instance handoff: where the running studio listens, and the one-line protocol.

The running window listens on a local (Unix domain) socket per user and X121 home; a second
`x121 open URL` connects, sends `open <url>\\n`, reads `ok\\n` or `error <sentence>\\n`, and exits.
The window side is a QLocalServer (ui/single_instance.py); the CLI side a plain socket (no Qt).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from x121_desktop.core.errors import InvalidInput

MAX_LINE = 4096
LINK_ENV = "X121_OPEN_LINK"
"""A link the window opens once it has started (set by `x121 open` when no window was running)."""


def socket_path(runtime_dir: Path, home: Path, uid: int) -> Path:
    """A short path (Unix socket paths are limited to ~107 bytes) unique to this user and home."""
    tag = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    return runtime_dir / f"x121-{uid}-{tag}.sock"


def runtime_socket(home: Path) -> Path:
    """The socket of the window for `home`, under XDG_RUNTIME_DIR (else the temp folder)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return socket_path(Path(runtime), home, os.getuid() if hasattr(os, "getuid") else 0)


def encode_open(url: str) -> bytes:
    """`open <url>`; an empty url asks the running window only to come to the front."""
    line = (f"open {url.strip()}" if url.strip() else "open").encode() + b"\n"
    if len(line) > MAX_LINE or "\n" in url.strip():
        raise InvalidInput("The link is too long or spans lines", "Pass one x121:// link")
    return line


def decode_request(data: bytes) -> str | None:
    """The URL of an `open` request ("" for a bare `open`: come to the front), or None when not one."""
    text = data.decode("utf-8", "replace").strip()
    if text == "open":
        return ""
    if not text.startswith("open ") or "\n" in text:
        return None
    return text[5:].strip() or None


def encode_reply(error: str | None) -> bytes:
    return b"ok\n" if error is None else f"error {error.splitlines()[0] if error else 'failed'}\n".encode()


def decode_reply(data: bytes) -> str | None:
    """None for ok, else the sentence the window sent back."""
    text = data.decode("utf-8", "replace").strip()
    if text == "ok":
        return None
    return text[6:] if text.startswith("error ") else f"the running studio answered {text[:80]!r}"

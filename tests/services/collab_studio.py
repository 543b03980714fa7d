"""A secure studio (tests/db/security_studio.py) plus extra creator logins and free segments, for collab tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.db.security_studio import SUPERUSER, SecureStudio, build_secure_studio, drop_secure_studio
from x121_desktop.core.enums import SegmentStatus
from x121_desktop.db.embedded import EmbeddedServer
from x121_desktop.db.security import scram_verifier

REPO = Path(__file__).resolve().parents[2]
EXTRA_CREATORS = 3


def build_collab_studio(server: EmbeddedServer, new_database: Callable[[], str], segments: int = 3) -> SecureStudio:
    studio = build_secure_studio(server, new_database)
    suffix = studio.roles["creator"].rsplit("_", 1)[-1]
    with studio.connect(SUPERUSER) as conn:
        for i in range(EXTRA_CREATORS):
            login = f"creator{i + 2}"
            role = f"t_{login}_{suffix}"
            studio.roles[login] = role
            verifier = scram_verifier(conn.pgconn, role, f"pw-{role}")
            row = conn.execute(
                "SELECT x121_create_user(%s, 'creator', %s, %s)", (role, verifier, f"Creator {i + 2}")
            ).fetchone()
            assert row is not None
            studio.user_ids[login] = int(row[0])
        for n in range(segments):
            row = conn.execute(
                "INSERT INTO segments (scene_id, position, segment_status_id, planned_frames) "
                "VALUES (%s, %s, %s, 1) RETURNING id",
                (studio.ids["scene"], n + 1, SegmentStatus.PLANNED),
            ).fetchone()
            assert row is not None
            studio.ids[f"free_segment_{n}"] = int(row[0])
    return studio


@pytest.fixture(scope="module")
def collab_studio(pg_server: EmbeddedServer, new_database: Callable[[], str]) -> Iterator[SecureStudio]:
    studio = build_collab_studio(pg_server, new_database)
    try:
        yield studio
    finally:
        drop_secure_studio(studio)


def spawn_client(*args: str) -> subprocess.Popen[str]:
    """A client process (tests/services/collab_clients.py) with its own interpreter."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.services.collab_clients", *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

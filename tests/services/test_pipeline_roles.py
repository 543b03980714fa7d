"""Who may drive the pipeline, through `x121` logged in as real studio roles (tests/db/security_studio.py):
a reviewer is refused scene generation, regeneration and final approval with one sentence (and
changes nothing), but may give verdicts; a creator generates and gives final approval."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SUPERUSER, SecureStudio, build_secure_studio, drop_secure_studio
from tests.services.pipeline_studio import RUN, SMALL, setup_graded_studio
from tests.services.test_pipeline_e2e import Cli, server
from x121_desktop.core.enums import JobStatus
from x121_desktop.db.embedded import EmbeddedServer

__all__ = ["server"]
P = ("--project", "Default")  # the populated studio has another Ada in project Privileges


@pytest.fixture
def roles_studio(pg_server: EmbeddedServer, new_database: Callable[[], str]) -> Iterator[SecureStudio]:
    studio = build_secure_studio(pg_server, new_database)
    try:
        yield studio
    finally:
        drop_secure_studio(studio)


def test_reviewer_is_refused_generation_and_final_approval_a_creator_is_not(
    roles_studio: SecureStudio, server: ComfyTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    owner = Cli(roles_studio.url(SUPERUSER), home, capsys)
    reviewer = Cli(roles_studio.url("reviewer"), home, capsys)
    creator = Cli(roles_studio.url("creator"), home, capsys)
    setup_graded_studio(owner, server, tmp_path)
    with roles_studio.connect(SUPERUSER) as conn:  # the populated studio's placeholder job has no prompt
        conn.execute("UPDATE jobs SET job_status_id = %s", (int(JobStatus.CANCELLED),))
    owner("scene", "create", "Ada", "roles", "--workflow", "graded", "--duration", "21-25f", *SMALL, *P)
    role = roles_studio.roles["reviewer"]

    err = reviewer("scene", "generate", "Ada/roles", *P, code=4)
    assert err.strip().splitlines() == [
        f"x121: error: Only creators and admins can generate scenes, and {role} signs in as a reviewer. "
        "Ask a creator or admin to do it"
    ]
    assert reviewer.json("scene", "status", "Ada/roles", *P)["status"] == "planned"  # nothing changed

    done = creator.json("scene", "generate", "Ada/roles", *P, "--servers", "gpu1", *RUN)
    assert done["run"]["complete"] is True, done
    takes = [s["current_take_id"] for s in done["segments"]]
    assert len(takes) == 2

    err = reviewer("segment", "regenerate", "Ada/roles", "2", *P, code=4)
    assert "Only creators and admins can regenerate segments" in err
    err = reviewer("take", "approve", str(takes[0]), "--final", code=4)
    assert err.strip().splitlines() == [
        f"x121: error: Only creators and admins can give final approval, and {role} signs in as a reviewer. "
        "Ask a creator or admin to do it"
    ]
    assert "approve recorded" in reviewer("take", "approve", str(takes[0]), "--note", "looks right")
    status = reviewer.json("scene", "status", "Ada/roles", *P)
    assert [s["approved_by"] for s in status["segments"]] == [None, None]

    for take in takes:
        creator("take", "approve", str(take), "--final")
    status = reviewer.json("scene", "status", "Ada/roles", *P)
    assert status["status"] == "approved"
    assert [s["approved_by"] for s in status["segments"]] == ["Creator", "Creator"]

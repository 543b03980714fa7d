"""`x121 job hold|release|pause|resume` against a real database with real logins (text, --json, exit codes)."""

from __future__ import annotations

import json

import pytest

from tests.services.test_dispatch_roles import logins
from x121_desktop.cli.main import main
from x121_desktop.core.errors import PermissionDenied

__all__ = ["logins"]

Logins = tuple[str, dict[str, str]]


def _out(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip()


def _submit(url: str, capsys: pytest.CaptureFixture[str]) -> int:
    assert main(["--database-url", url, "job", "submit", "roles", "--no-cache", "--json"]) == 0
    return int(json.loads(capsys.readouterr().out)["job"]["id"])


def test_hold_release_pause_and_resume_as_real_logins(logins: Logins, capsys: pytest.CaptureFixture[str]) -> None:
    admin_url, urls = logins
    admin, creator, reviewer = (["--database-url", u] for u in (admin_url, urls["creator"], urls["reviewer"]))
    mine, theirs = _submit(urls["creator"], capsys), _submit(admin_url, capsys)

    assert main([*creator, "job", "hold", str(mine), str(theirs)]) == 1  # one refused: exit 1, the rest done
    assert _out(capsys) == (
        f"Put job {mine} on hold. "
        f"Job {theirs} belongs to another user, so you cannot hold it. Ask its owner or a studio admin to hold it."
    )
    assert main([*creator, "job", "status", str(mine)]) == 0
    assert _out(capsys).startswith(f"job {mine} held ")
    assert main([*creator, "job", "hold", str(mine), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"held": [], "unchanged": [mine], "refused": []}
    assert main([*admin, "job", "release", str(mine), "--json"]) == 0  # an admin may release anyone's
    assert json.loads(capsys.readouterr().out) == {"released": [mine], "unchanged": [], "refused": []}

    assert main([*creator, "job", "pause", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"scope": "user", "paused": True, "jobs": 1}
    assert main([*creator, "job", "submit", "roles", "--no-cache"]) == 0
    later = int(_out(capsys).split()[1])
    assert main([*creator, "job", "status", str(later), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["job"]["status"] == 11
    assert main([*creator, "job", "list", "--mine", "--status", "held", "--json"]) == 0
    assert {j["id"] for j in json.loads(capsys.readouterr().out)} == {mine, later}
    assert main([*creator, "job", "resume"]) == 0
    assert _out(capsys) == "Your queue is running again (2 jobs released from hold)."

    refused = PermissionDenied.exit_code  # 4
    assert main([*creator, "job", "pause", "--studio"]) == refused
    assert capsys.readouterr().err.strip() == (
        "x121: error: Only a studio admin can pause the studio queue. Pause your own queue instead, or ask an admin"
    )
    assert main([*reviewer, "job", "pause"]) == refused
    assert capsys.readouterr().err.strip() == (
        "x121: error: Your login cannot submit jobs, so it cannot pause a queue. Ask an admin to make you a creator"
    )
    assert main([*admin, "job", "pause", "--studio"]) == 0
    assert _out(capsys) == "The studio queue is paused: no job starts until an admin resumes it; running jobs finish."
    assert main([*admin, "job", "resume", "--studio", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"scope": "studio", "paused": False, "jobs": 0}

"""`x121 workflow import|list|validate` end to end: real files, the migrated test database, real exit codes.

The session's migrated database is shared with other tests, so every workflow name is unique and
assertions look only at the rows a test made.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.conftest import REPO, SHARED
from x121_desktop.cli.main import main
from x121_desktop.core.enums import ServerStatus

__all__ = ["comfy_server"]  # fixture used here

WORKFLOWS = REPO / "workflows"
OBJECT_INFO = str(SHARED / "comfyui" / "object_info.json")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def x121(url: str, *args: str) -> int:
    return main(["--database-url", url, "workflow", *args])


def listed(url: str, name: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any] | None:
    assert x121(url, "list", "--json") == 0
    return next((w for w in json.loads(capsys.readouterr().out) if w["name"] == name), None)


def one_sentence_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("x121: error: "), err
    assert "\n" not in err, "one sentence, no traceback"
    assert err.endswith("."), err
    return err


def test_import_twice_list_and_validate(migrated_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    name = unique("modelfree")
    api = str(WORKFLOWS / "x121-i2v-modelfree.api.json")
    assert x121(migrated_url, "import", api, "--name", name, "--note", "from the repo") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Imported workflow {name!r} as version 1.\n")
    assert "x121-i2v-modelfree.manifest.json: seed_image_a, width, height, frame_count" in out

    assert x121(migrated_url, "import", api, "--name", name) == 0
    assert capsys.readouterr().out.startswith(f"Workflow {name!r} is unchanged, still version 1.\n")

    entry = listed(migrated_url, name, capsys)
    assert entry is not None
    assert entry["latest"] == 1
    [version] = entry["versions"]
    assert (version["version_no"], version["has_ui"], version["note"]) == (1, False, "from the repo")
    assert len(version["content_hash"]) == 64

    assert x121(migrated_url, "list") == 0
    table = capsys.readouterr().out
    assert any(line.startswith(name) and " api " in line for line in table.splitlines()), table

    assert x121(migrated_url, "validate", name, "--object-info", OBJECT_INFO) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{name} v1 can run on {OBJECT_INFO}: 0 errors"), out


def test_ui_template_imports_and_wan_validation_fails_with_sentences(
    migrated_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import comfyui_workflow_templates as templates

    template = Path(templates.get_asset_path("video_wan2_2_14B_i2v", "video_wan2_2_14B_i2v.json"))
    name = unique("wan-template")
    assert x121(migrated_url, "import", str(template), "--name", name, "--object-info", OBJECT_INFO, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["created"], result["version_no"], result["format"], result["manifest"]) == (True, 1, "ui", None)

    wan = unique("wan")
    assert x121(migrated_url, "import", str(WORKFLOWS / "wan22-i2v.api.json"), "--name", wan) == 0
    capsys.readouterr()
    code = x121(migrated_url, "validate", wan, "--version", "1", "--object-info", OBJECT_INFO)
    out = capsys.readouterr().out
    assert code == 6
    lines = out.splitlines()
    assert lines[0].startswith(f"{wan} v1 cannot run on {OBJECT_INFO}: ")
    errors = [line.removeprefix("  error: ") for line in lines[1:] if line.startswith("  error: ")]
    assert any("wan_2.1_vae.safetensors" in e and "models/vae" in e for e in errors), out
    assert all(e[0].isupper() and e.endswith(".") for e in errors)

    assert x121(migrated_url, "validate", wan, "--object-info", OBJECT_INFO, "--json") == 6
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["errors"] == sum(1 for f in report["findings"] if f["severity"] == "error") > 0
    assert {"missing_model"} <= {f["kind"] for f in report["findings"]}


@pytest.mark.parametrize(
    ("content", "expected", "exit_code"),
    [
        ('{"1": {"class_type": "LoadImage", "inputs": {,}}}', "is not valid JSON: Expecting property name", 2),
        ('{"nodes_please": true}', "is neither a ComfyUI API-format prompt", 2),
    ],
)
def test_bad_file_is_one_sentence_and_stores_nothing(
    tmp_path: Path,
    migrated_url: str,
    capsys: pytest.CaptureFixture[str],
    content: str,
    expected: str,
    exit_code: int,
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    name = unique("bad")
    assert x121(migrated_url, "import", str(bad), "--name", name) == exit_code
    assert expected in one_sentence_error(capsys)
    assert listed(migrated_url, name, capsys) is None


def test_manifest_that_does_not_fit_stores_nothing(migrated_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    name = unique("mismatch")
    api = str(WORKFLOWS / "x121-i2v-modelfree.api.json")
    manifest = str(WORKFLOWS / "wan22-i2v.manifest.json")
    assert x121(migrated_url, "import", api, "--name", name, "--manifest", manifest) == 2
    err = one_sentence_error(capsys)
    assert "The manifest does not fit x121-i2v-modelfree.api.json" in err
    assert "--manifest FILE" in err
    assert listed(migrated_url, name, capsys) is None


def test_validate_needs_a_node_list_and_a_known_workflow(migrated_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        x121(migrated_url, "validate", "anything")
    assert usage.value.code == 2
    assert "one of the arguments --server --object-info is required" in capsys.readouterr().err

    assert x121(migrated_url, "validate", unique("missing"), "--object-info", OBJECT_INFO) == 5
    assert "x121 workflow import FILE --name NAME" in one_sentence_error(capsys)


def test_validate_against_a_registered_server(
    migrated_url: str,
    migrated_conninfo: dict[str, Any],
    comfy_server: ComfyTestServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, server = unique("live"), unique("gpu")
    assert x121(migrated_url, "import", str(WORKFLOWS / "x121-i2v-modelfree.api.json"), "--name", name) == 0
    capsys.readouterr()
    with psycopg.connect(**migrated_conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES (%s, %s, %s)",
            (server, comfy_server.url, ServerStatus.ONLINE),
        )
    try:
        assert x121(migrated_url, "validate", name, "--server", server, "--json") == 0
        report = json.loads(capsys.readouterr().out)
        assert (report["ok"], report["against"]) == (True, f"server {server} ({comfy_server.url})")

        assert x121(migrated_url, "validate", name, "--server", unique("ghost")) == 5
        assert "x121 server add URL --name NAME" in one_sentence_error(capsys)
    finally:
        with psycopg.connect(**migrated_conninfo, autocommit=True) as conn:
            conn.execute("DELETE FROM comfy_servers WHERE name = %s", (server,))

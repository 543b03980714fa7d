"""`x121 server …` against the session's migrated database (as its superuser, like the embedded
single-user mode) and the ComfyUI stand-in; an unreachable server is a closed local port."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.services.test_servers import closed_port_url
from x121_desktop.cli.main import main

__all__ = ["comfy_server"]  # fixture used here


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_add_list_and_check(
    migrated_url: str, comfy_server: ComfyTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    comfy_server.set_models("loras", ["face_a.safetensors"])
    name = unique("gpu")
    db = ["--database-url", migrated_url]
    assert main([*db, "server", "add", comfy_server.url, "--name", name]) == 0
    out = capsys.readouterr().out
    assert (
        out == f"Registered ComfyUI server {name!r} at {comfy_server.url}. Check it with `x121 server check {name}`.\n"
    )

    assert main([*db, "server", "check", name, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["reachable"] is True
    assert report["problem"] is None
    assert (report["name"], report["url"], report["status"]) == (name, comfy_server.url, "online")
    assert (report["version"], report["node_count"]) == ("0.3.64", 478)
    assert report["model_counts"] == {"loras": 1}
    (device,) = report["devices"]
    assert device["name"] == "cpu"
    assert device["vram_total"] >= device["vram_free"] > 0
    assert report["last_seen_at"]

    assert main([*db, "server", "check", name]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == f"ComfyUI 0.3.64 at {comfy_server.url} is online: 478 node types, 1 model files."
    assert text[1:] == [
        "  version  ComfyUI 0.3.64",
        "  nodes    478 node types",
        f"  devices  cpu ({device['vram_free'] / 1024**3:.1f} GiB free of {device['vram_total'] / 1024**3:.1f} GiB)",
        "  models   loras 1",
    ]

    assert main([*db, "server", "list", "--json"]) == 0
    listed = {s["name"]: s for s in json.loads(capsys.readouterr().out)}
    assert listed[name]["node_count"] == 478
    assert listed[name]["url"] == comfy_server.url
    assert main([*db, "server", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["NAME", "URL", "STATUS", "ENABLED", "COMFYUI", "NODES", "LAST", "SEEN"]
    row = next(line.split() for line in table if line.startswith(name + " "))
    assert row[:6] == [name, comfy_server.url, "online", "yes", "0.3.64", "478"]


def test_unreachable_server_exits_non_zero_with_a_sentence(
    migrated_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique("off")
    url = closed_port_url()
    db = ["--database-url", migrated_url]
    assert main([*db, "server", "add", url, "--name", name, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == 4  # offline until checked
    assert main([*db, "server", "check", name]) == 6
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"x121: ComfyUI server {name!r} at {url} cannot be reached")
    assert captured.err.count("\n") == 1
    assert main([*db, "server", "check", name, "--json"]) == 6
    report = json.loads(capsys.readouterr().out)
    assert (report["reachable"], report["status"], report["node_count"]) == (False, "offline", 0)
    assert "cannot be reached" in report["problem"]


def test_unknown_name_and_duplicate_are_refused_with_sentences(
    migrated_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", migrated_url]
    missing = unique("missing")
    assert main([*db, "server", "check", missing]) == 5
    assert capsys.readouterr().err == (
        f"x121: error: No ComfyUI server is registered as {missing!r}. "
        "See `x121 server list`, or register it with `x121 server add URL --name NAME`\n"
    )
    name = unique("dup")
    assert main([*db, "server", "add", "http://10.9.9.1:8188", "--name", name]) == 0
    assert main([*db, "server", "add", "http://10.9.9.2:8188", "--name", name]) == 2
    assert "is already registered" in capsys.readouterr().err
    assert main([*db, "server", "add", "gopher://x", "--name", unique("bad")]) == 2
    assert "is not a ComfyUI server URL" in capsys.readouterr().err


def test_single_user_install_uses_its_embedded_database(
    pg_tmp: object, monkeypatch: pytest.MonkeyPatch, comfy_server: ComfyTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --database-url: a fresh X121 home gets its own embedded database, as its superuser."""
    monkeypatch.setenv("X121_HOME", str(pg_tmp))
    assert main(["server", "add", comfy_server.url, "--name", "local"]) == 0
    assert main(["server", "check", "local", "--json"]) == 0
    capsys.readouterr()
    assert main(["server", "list", "--json"]) == 0
    (only,) = json.loads(capsys.readouterr().out)
    assert (only["name"], only["status"], only["node_count"]) == ("local", 1, 478)

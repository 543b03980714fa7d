"""The workflow library service on a real PostgreSQL (its own migrated database with real login roles).

Files are the studio's reference workflows in workflows/, ComfyUI's own templates from the installed
`comfyui-workflow-templates` package, and copies changed on purpose. Validation runs against the
recorded /object_info of ComfyUI 0.3.64 and against the ComfyUI stand-in server (fetched live).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import comfyui_workflow_templates as templates
import pytest
from sqlalchemy.engine import Engine

from tests.comfy.conftest import comfy_server
from tests.comfyui_server import ComfyTestServer
from tests.conftest import REPO, SHARED
from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from x121_desktop.core.enums import ServerStatus
from x121_desktop.core.errors import ConfigError, InvalidInput, NotFound, PermissionDenied
from x121_desktop.db.engine import DatabaseTarget, make_engine, session_factory
from x121_desktop.services.runtime import Runtime
from x121_desktop.services.workflows import (
    ImportRequest,
    ManifestMismatch,
    ObjectInfoSource,
    WorkflowService,
    content_hash,
)

__all__ = ["comfy_server", "secure_studio"]  # fixtures used here

WORKFLOWS = REPO / "workflows"
MODELFREE_API = WORKFLOWS / "x121-i2v-modelfree.api.json"
MODELFREE_UI = WORKFLOWS / "x121-i2v-modelfree.json"
MODELFREE_MANIFEST = WORKFLOWS / "x121-i2v-modelfree.manifest.json"
WAN_API = WORKFLOWS / "wan22-i2v.api.json"
WAN_MANIFEST = WORKFLOWS / "wan22-i2v.manifest.json"
OBJECT_INFO = ObjectInfoSource(file=SHARED / "comfyui" / "object_info.json")


def run[T](coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def template_file(template_id: str) -> Path:
    entry = templates.get_template_entry(template_id)
    name = next(a.filename for a in entry.assets if a.filename.endswith(".json"))
    return Path(templates.get_asset_path(template_id, name))


@pytest.fixture
def service_as(secure_studio: SecureStudio) -> Iterator[Callable[[str], WorkflowService]]:
    engines: list[Engine] = []
    runtime = Runtime()

    def make(who: str = SUPERUSER) -> WorkflowService:
        engine = make_engine(DatabaseTarget(secure_studio.url(who)), pool_size=1)
        engines.append(engine)
        return WorkflowService(session_factory(engine), runtime)

    yield make
    runtime.shutdown()
    for engine in engines:
        engine.dispose()


def stored_rows(studio: SecureStudio, name: str) -> list[tuple[Any, ...]]:
    with studio.connect(SUPERUSER) as conn:
        return conn.execute(
            "SELECT v.version_no, v.content_hash, v.api_json, v.ui_json, v.manifest, v.note, u.role_name, "
            "v.ui_json IS NULL "
            "FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id JOIN users u ON u.id = v.created_by "
            "WHERE w.name = %s ORDER BY v.version_no",
            (name,),
        ).fetchall()


def workflow_count(studio: SecureStudio, name: str) -> int:
    with studio.connect(SUPERUSER) as conn:
        row = conn.execute("SELECT count(*) FROM workflows WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return int(row[0])


def test_api_file_with_manifest_beside_becomes_version_1(
    secure_studio: SecureStudio, service_as: Callable[[str], WorkflowService]
) -> None:
    name = unique("modelfree")
    result = run(service_as("creator").import_file(ImportRequest(MODELFREE_API, name, note="first cut")))
    assert result.created
    assert result.version_no == 1
    assert result.format == "api"
    assert result.manifest == str(MODELFREE_MANIFEST)
    assert {"seed_image_a", "frame_count", "fps", "seed"} <= set(result.parameters)
    assert result.sentence == f"Imported workflow {name!r} as version 1."

    [(number, digest, api_json, ui_json, manifest, note, author, sql_null)] = stored_rows(secure_studio, name)
    assert sql_null, "no UI document is SQL NULL, not JSON null"
    api = json.loads(MODELFREE_API.read_text())
    expected_manifest = json.loads(MODELFREE_MANIFEST.read_text())
    assert (number, api_json, ui_json, manifest, note) == (1, api, None, expected_manifest, "first cut")
    assert digest == result.content_hash == content_hash(api, expected_manifest)
    assert author == secure_studio.roles["creator"], "created_by defaults to the signed-in user"


def test_same_content_again_adds_no_version(
    secure_studio: SecureStudio, service_as: Callable[[str], WorkflowService]
) -> None:
    name = unique("same")
    service = service_as(SUPERUSER)
    first = run(service.import_file(ImportRequest(MODELFREE_API, name)))
    again = run(service.import_file(ImportRequest(MODELFREE_API, name, note="again")))
    assert (again.created, again.version_no, again.content_hash) == (False, 1, first.content_hash)
    assert again.sentence == f"Workflow {name!r} is unchanged, still version 1."
    # The UI file converts to exactly the API file: same run, so the same version.
    ui = run(service.import_file(ImportRequest(MODELFREE_UI, name, object_info=OBJECT_INFO)))
    assert (ui.created, ui.version_no, ui.format) == (False, 1, "ui")
    assert len(stored_rows(secure_studio, name)) == 1


def test_ui_file_keeps_its_document_and_converts_to_the_api_file(
    secure_studio: SecureStudio, service_as: Callable[[str], WorkflowService]
) -> None:
    name = unique("modelfree-ui")
    result = run(service_as(SUPERUSER).import_file(ImportRequest(MODELFREE_UI, name, object_info=OBJECT_INFO)))
    assert (result.created, result.version_no, result.format) == (True, 1, "ui")
    assert result.manifest == str(MODELFREE_MANIFEST), "x.json finds x.manifest.json too"
    [(_, _, api_json, ui_json, _, _, _, _)] = stored_rows(secure_studio, name)
    assert api_json == json.loads(MODELFREE_API.read_text())
    raw_ui = json.loads(MODELFREE_UI.read_text())
    assert ui_json["nodes"] == raw_ui["nodes"]
    assert ui_json["links"] == raw_ui["links"]


def test_changed_workflow_becomes_the_next_version_and_lists_in_order(
    tmp_path: Path, service_as: Callable[[str], WorkflowService]
) -> None:
    name = unique("changing")
    service = service_as(SUPERUSER)
    run(service.import_file(ImportRequest(MODELFREE_API, name)))
    api = json.loads(MODELFREE_API.read_text())
    api["2"]["inputs"]["width"] = 640
    changed = tmp_path / "changed.api.json"
    changed.write_text(json.dumps(api))
    second = run(service.import_file(ImportRequest(changed, name, manifest=MODELFREE_MANIFEST, note="wider frames")))
    assert (second.created, second.version_no) == (True, 2)
    # A manifest change alone is a new version too (the hash covers it).
    manifest = json.loads(MODELFREE_MANIFEST.read_text())
    manifest["parameters"]["width"]["default"] = 640
    (tmp_path / "changed.manifest.json").write_text(json.dumps(manifest))
    third = run(service.import_file(ImportRequest(changed, name)))
    assert (third.created, third.version_no, third.manifest) == (True, 3, str(tmp_path / "changed.manifest.json"))

    [view] = [w for w in run(service.list_workflows()) if w.name == name]
    assert [v.version_no for v in view.versions] == [1, 2, 3]
    assert view.latest == 3
    assert view.versions[1].note == "wider frames"
    assert len({v.content_hash for v in view.versions}) == 3
    assert "seed_image_a" in view.versions[0].parameters


def test_comfyui_template_from_the_installed_package_imports(
    secure_studio: SecureStudio, service_as: Callable[[str], WorkflowService]
) -> None:
    path = template_file("video_wan2_2_14B_i2v")
    name = unique("wan-template")
    result = run(service_as(SUPERUSER).import_file(ImportRequest(path, name, object_info=OBJECT_INFO)))
    assert (result.created, result.format, result.manifest, result.parameters) == (True, "ui", None, ())
    [(_, _, api_json, ui_json, manifest, _, _, _)] = stored_rows(secure_studio, name)
    assert manifest == {}
    assert ui_json["nodes"] == json.loads(path.read_text())["nodes"]
    assert any(node["class_type"] == "WanImageToVideo" for node in api_json.values())
    # Validation reports the models the recorded server lacks as findings, not a crash.
    report = run(service_as(SUPERUSER).validate(name, OBJECT_INFO))
    assert not report.ok
    assert any(f.kind == "missing_model" for f in report.findings)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"1": {"class_type": "LoadImage",\n "inputs": {,}}}', "is not valid JSON: Expecting property name"),
        ('{"hello": "world"}', "is neither a ComfyUI API-format prompt"),
        ("[1, 2, 3]", "is neither a ComfyUI API-format prompt"),
    ],
)
def test_bad_files_are_one_sentence_and_store_nothing(
    tmp_path: Path,
    secure_studio: SecureStudio,
    service_as: Callable[[str], WorkflowService],
    content: str,
    expected: str,
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    name = unique("bad")
    with pytest.raises(InvalidInput) as caught:
        run(service_as(SUPERUSER).import_file(ImportRequest(bad, name)))
    assert expected in caught.value.sentence
    assert str(bad) in caught.value.sentence
    assert "\n" not in caught.value.sentence
    assert workflow_count(secure_studio, name) == 0


def test_malformed_json_names_line_and_column(tmp_path: Path, service_as: Callable[[str], WorkflowService]) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"1": {"class_type": "LoadImage",\n "inputs": {,}}}')
    with pytest.raises(InvalidInput, match=r"at line 2, column 13"):
        run(service_as(SUPERUSER).import_file(ImportRequest(bad, unique("broken"))))


def test_manifest_that_does_not_fit_is_refused(
    secure_studio: SecureStudio, service_as: Callable[[str], WorkflowService]
) -> None:
    name = unique("mismatch")
    with pytest.raises(ManifestMismatch) as caught:
        run(service_as(SUPERUSER).import_file(ImportRequest(MODELFREE_API, name, manifest=WAN_MANIFEST)))
    sentence = caught.value.sentence
    assert sentence.startswith("The manifest does not fit x121-i2v-modelfree.api.json: ")
    assert "which is not in the workflow; fix the node id" in sentence
    assert f"(and {len(caught.value.problems) - 1} more problems)" in sentence
    assert workflow_count(secure_studio, name) == 0


def test_manifest_types_are_checked_when_a_node_list_is_given(
    tmp_path: Path, secure_studio: SecureStudio, service_as: Callable[[str], WorkflowService]
) -> None:
    manifest = json.loads(MODELFREE_MANIFEST.read_text())
    manifest["parameters"]["width"]["type"] = "string"
    wrong = tmp_path / "wrong.manifest.json"
    wrong.write_text(json.dumps(manifest))
    name = unique("typed")
    request = ImportRequest(MODELFREE_API, name, manifest=wrong, object_info=OBJECT_INFO)
    with pytest.raises(ManifestMismatch, match=r"input width, which takes INT, not a string"):
        run(service_as(SUPERUSER).import_file(request))
    manifest["format"] = "something-else"
    wrong.write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"'format' must be 'x121.workflow-manifest'"):
        run(service_as(SUPERUSER).import_file(ImportRequest(MODELFREE_API, name, manifest=wrong)))
    assert workflow_count(secure_studio, name) == 0


def test_ui_file_without_a_node_list_asks_for_one(
    secure_studio: SecureStudio, service_as: Callable[[str], WorkflowService]
) -> None:
    name = unique("ui-no-info")
    with pytest.raises(InvalidInput, match=r"UI-format workflow.*Give --server NAME .* or --object-info FILE"):
        run(service_as(SUPERUSER).import_file(ImportRequest(MODELFREE_UI, name)))
    assert workflow_count(secure_studio, name) == 0


def test_reviewer_cannot_import(secure_studio: SecureStudio, service_as: Callable[[str], WorkflowService]) -> None:
    name = unique("by-reviewer")
    with pytest.raises(PermissionDenied) as caught:
        run(service_as("reviewer").import_file(ImportRequest(MODELFREE_API, name)))
    assert caught.value.sentence == (
        f"The database refused to import workflow {name!r}: permission denied for table workflows. "
        "Only creators and admins can change workflows; ask one of them, or an admin to change your role."
    )
    assert workflow_count(secure_studio, name) == 0
    # Reading is allowed: the reviewer still sees the library.
    assert isinstance(run(service_as("reviewer").list_workflows()), tuple)


def test_validate_reference_workflows_against_recorded_object_info(
    service_as: Callable[[str], WorkflowService],
) -> None:
    service = service_as(SUPERUSER)
    free, wan = unique("free"), unique("wan")
    run(service.import_file(ImportRequest(MODELFREE_API, free)))
    run(service.import_file(ImportRequest(WAN_API, wan)))

    ok = run(service.validate(free, OBJECT_INFO))
    assert ok.ok, [f.message for f in ok.findings]
    assert (ok.workflow, ok.version_no, ok.against) == (free, 1, str(OBJECT_INFO.file))

    bad = run(service.validate(wan, OBJECT_INFO, version_no=1))
    assert not bad.ok
    missing = {f.message for f in bad.findings if f.kind == "missing_model"}
    assert any("wan2.2_i2v_high_noise_14B_fp8_scaled.safetensors" in m and "diffusion_models" in m for m in missing)
    assert any("umt5_xxl_fp8_e4m3fn_scaled.safetensors" in m for m in missing)
    for finding in bad.findings:
        assert finding.message[0].isupper(), finding.message
        assert finding.message.endswith("."), finding.message


def test_validate_against_a_registered_server_fetches_its_object_info(
    secure_studio: SecureStudio, service_as: Callable[[str], WorkflowService], comfy_server: ComfyTestServer
) -> None:
    service = service_as("creator")
    name, server = unique("live"), unique("gpu")
    run(service.import_file(ImportRequest(MODELFREE_API, name)))
    with secure_studio.connect(SUPERUSER) as conn:
        conn.execute(
            "INSERT INTO comfy_servers (name, base_url, server_status_id) VALUES (%s, %s, %s)",
            (server, comfy_server.url, ServerStatus.ONLINE),
        )
        conn.commit()
    try:
        report = run(service.validate(name, ObjectInfoSource(server=server)))
        assert report.ok, [f.message for f in report.findings]
        assert report.against == f"server {server} ({comfy_server.url})"
        # A UI file converts with the server's own node list; it makes exactly the stored API prompt.
        ui = run(service.import_file(ImportRequest(MODELFREE_UI, name, object_info=ObjectInfoSource(server=server))))
        assert (ui.format, ui.created, ui.version_no) == ("ui", False, 1)
        wan = unique("live-wan")
        run(service.import_file(ImportRequest(WAN_API, wan)))
        bad = run(service.validate(wan, ObjectInfoSource(server=server)))
        assert not bad.ok
        assert {f.kind for f in bad.findings} & {"missing_model", "missing_node_type"}
    finally:
        with secure_studio.connect(SUPERUSER) as conn:
            conn.execute("DELETE FROM comfy_servers WHERE name = %s", (server,))
            conn.commit()


def test_unknown_names_are_not_found_sentences(service_as: Callable[[str], WorkflowService]) -> None:
    service = service_as(SUPERUSER)
    name = unique("known")
    run(service.import_file(ImportRequest(MODELFREE_API, name)))
    with pytest.raises(NotFound, match=r"no workflow named 'nope-.*x121 workflow list"):
        run(service.validate(unique("nope"), OBJECT_INFO))
    with pytest.raises(NotFound, match=rf"Workflow '{name}' has no version 7 \(it has 1\)"):
        run(service.validate(name, OBJECT_INFO, version_no=7))
    with pytest.raises(NotFound, match=r"no ComfyUI server named 'ghost'.*x121 server add"):
        run(service.validate(name, ObjectInfoSource(server="ghost")))


def test_blank_name_is_refused(service_as: Callable[[str], WorkflowService]) -> None:
    with pytest.raises(InvalidInput, match="The workflow name is empty"):
        run(service_as(SUPERUSER).import_file(ImportRequest(MODELFREE_API, "  ")))


def test_two_workstations_importing_at_once_get_consecutive_versions(
    tmp_path: Path, secure_studio: SecureStudio
) -> None:
    """Each client has its own writer thread, so the imports really race; the row lock orders them."""
    api = json.loads(MODELFREE_API.read_text())
    files = []
    for n in range(4):
        api["2"]["inputs"]["width"] = 512 + 16 * n
        path = tmp_path / f"w{n}.api.json"
        path.write_text(json.dumps(api))
        files.append(path)
    name = unique("race")
    runtimes = [Runtime() for _ in files]
    engines = [make_engine(DatabaseTarget(secure_studio.url("creator")), pool_size=1) for _ in files]
    services = [WorkflowService(session_factory(e), r) for e, r in zip(engines, runtimes, strict=True)]

    async def all_at_once() -> list[int]:
        results = await asyncio.gather(
            *(s.import_file(ImportRequest(f, name)) for s, f in zip(services, files, strict=True))
        )
        return sorted(r.version_no for r in results)

    try:
        assert run(all_at_once()) == [1, 2, 3, 4]
    finally:
        for runtime, engine in zip(runtimes, engines, strict=True):
            runtime.shutdown()
            engine.dispose()
    assert [row[0] for row in stored_rows(secure_studio, name)] == [1, 2, 3, 4]

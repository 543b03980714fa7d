"""Revision 0017: a seed image's file is PERMANENT, through `x121_keep_seed_file`, and nothing else is.

Real login roles (tests/db/security_studio.py; its seed files are WORKING rows, as a reused job output
is): a creator raises a seed's file to PERMANENT; nobody raises a file that no seed uses, a reviewer
nothing, and the function never lowers a class (it has no class argument). End to end: a creator's
generated Seed B, rendered by the creator's own dispatcher on the ComfyUI stand-in, reuses the job's
WORKING output row and ends PERMANENT. The upgrade raises seed files recorded before it; the downgrade
drops the function.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import psycopg
from PIL import Image
from skimage import data
from sqlalchemy import create_engine, text

from tests.comfyui_server import ComfyTestServer
from tests.db.security_studio import SUPERUSER, SecureStudio, secure_studio
from tests.services.test_pipeline_e2e import WORKFLOWS
from tests.services.test_runner import register_server, server
from x121_desktop.cli.main import main
from x121_desktop.core.enums import RetentionClass, SeedKind, SeedOrigin
from x121_desktop.core.ids import CharacterId, SeedImageId
from x121_desktop.services.bootstrap import LaunchOptions, open_studio
from x121_desktop.services.orchestrator.dispatcher import Dispatcher
from x121_desktop.services.seed_generation import JobSeedGenerator, SeedCollector
from x121_desktop.services.seeds import SeedGenerationRequest

__all__ = ["secure_studio", "server"]

KEEP = "SELECT x121_keep_seed_file(%s)"
REFUSED = "42501"


def _keep(s: SecureStudio, who: str, file_id: int) -> bool | str:
    """Call the function as `who` and commit: what it returned, or the SQLSTATE it was refused with."""
    with s.connect(who) as conn:
        try:
            row = conn.execute(KEEP, (file_id,)).fetchone()  # type: ignore[arg-type]
        except psycopg.Error as exc:
            return str(exc.sqlstate)
    assert row is not None
    return bool(row[0])


def _retention(s: SecureStudio, file_id: int) -> RetentionClass:
    with s.connect(SUPERUSER) as conn:
        row = conn.execute("SELECT retention_class_id FROM files WHERE id = %s", (file_id,)).fetchone()
    assert row is not None
    return RetentionClass(row[0])


def _set_retention(s: SecureStudio, file_id: int, retention: RetentionClass) -> None:
    with s.connect(SUPERUSER) as conn:
        conn.execute("UPDATE files SET retention_class_id = %s WHERE id = %s", (int(retention), file_id))


def test_only_a_seed_file_is_raised_only_to_permanent_and_only_by_creators_and_admins(
    secure_studio: SecureStudio,
) -> None:
    s = secure_studio
    seed_file, other_seed_file, free = s.ids["file_a"], s.ids["file_b"], s.ids["file_free"]
    assert {_retention(s, f) for f in (seed_file, other_seed_file, free)} == {RetentionClass.WORKING}

    assert _keep(s, "reviewer", seed_file) == REFUSED  # reviewers record no seeds
    assert _keep(s, "creator", free) == REFUSED  # no seed uses it: it cannot be pinned this way
    assert _keep(s, "admin", free) == REFUSED
    assert _keep(s, "creator", 2_000_000_000) == REFUSED  # no such file, so no seed's
    assert _retention(s, seed_file) is RetentionClass.WORKING
    assert _retention(s, free) is RetentionClass.WORKING

    assert _keep(s, "creator", seed_file) is True
    assert _retention(s, seed_file) is RetentionClass.PERMANENT
    assert _keep(s, "creator", seed_file) is False  # already permanent: nothing changes
    assert _retention(s, seed_file) is RetentionClass.PERMANENT

    for weaker in (RetentionClass.CACHE, RetentionClass.DELIVERABLE):
        _set_retention(s, other_seed_file, weaker)
        assert _keep(s, "admin", other_seed_file) is True
        assert _retention(s, other_seed_file) is RetentionClass.PERMANENT

    # a creator still cannot change `files` directly, so this function is the only way, and it has no
    # argument naming a class: whoever calls it, a file only ever ends PERMANENT
    with s.connect("creator") as conn:
        try:
            conn.execute("UPDATE files SET retention_class_id = %s WHERE id = %s", (3, seed_file))
            refused = ""
        except psycopg.Error as exc:
            refused = str(exc.sqlstate)
    assert refused == REFUSED
    assert _keep(s, SUPERUSER, seed_file) is False
    assert _retention(s, seed_file) is RetentionClass.PERMANENT
    with s.connect(SUPERUSER) as conn:
        signatures = conn.execute(
            "SELECT pg_get_function_identity_arguments(oid), prosecdef, proowner::regrole::text FROM pg_proc "
            "WHERE proname = 'x121_keep_seed_file'"
        ).fetchall()
        public = conn.execute("SELECT has_function_privilege('public', 'x121_keep_seed_file(integer)', 'EXECUTE')")
        granted = public.fetchone()
    assert [tuple(r) for r in signatures] == [("p_file_id integer", True, "x121_owner")]
    assert granted is not None
    assert granted[0] is False


def test_a_creators_generated_seed_reusing_a_working_job_output_ends_permanent(
    secure_studio: SecureStudio, server: ComfyTestServer, tmp_path: Path
) -> None:
    s = secure_studio
    home = tmp_path / "home"
    admin = create_engine(s.url(SUPERUSER))
    try:
        register_server(admin, "gpu-seeds", server.url)
    finally:
        admin.dispose()
    assert main(["--database-url", s.url("creator"), "--home", str(home), "workflow", "import", "--name", "seedb",
                 str(WORKFLOWS / "x121-seed-modelfree.api.json")]) == 0  # fmt: skip
    portrait = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()[::4, ::4]).save(portrait, format="PNG")
    studio = open_studio(LaunchOptions(database_url=s.url("creator"), home=str(home)))
    try:
        generator = JobSeedGenerator(
            studio, "seedb", image_parameter="source_image", params={"width": 96, "height": 54}
        )
        request = SeedGenerationRequest(
            CharacterId(s.ids["character"]), "Ada", SeedKind.B, SeedImageId(s.ids["seed_a"]), portrait, Fraction(16, 9)
        )

        async def generate_and_run() -> int:
            ticket = await generator.request_seed(request)
            await Dispatcher(studio, once=True, grace_s=5.0).run()
            return int(ticket.job_id)

        job_id = asyncio.run(generate_and_run())
        with studio.engine.connect() as conn:
            [(output, owner)] = conn.execute(
                text("SELECT o.file_id, f.created_by FROM job_outputs o JOIN files f ON f.id = o.file_id "
                     "WHERE o.job_id = :j"), {"j": job_id}
            ).all()  # fmt: skip
        assert owner == s.user_ids["creator"]  # the creator's own dispatcher stored the output...
        assert _retention(s, output) is RetentionClass.WORKING  # ...as working material

        collected = asyncio.run(SeedCollector(studio).collect([job_id]))
    finally:
        studio.close()
    assert collected.problems == ()
    [seed] = collected.generated
    assert (seed.kind, seed.origin, seed.job_id) == (SeedKind.B, SeedOrigin.GENERATED, job_id)
    assert seed.file_id == output  # the store reused the job's row for the same bytes
    assert _retention(s, output) is RetentionClass.PERMANENT


def test_upgrade_raises_seed_files_recorded_before_it_and_downgrade_drops_the_function(
    new_database: Callable[[], str],
) -> None:
    from alembic import command

    from x121_desktop.db.migrate import alembic_config, upgrade

    engine = create_engine(new_database())

    def one(sql: str, **params: Any) -> Any:
        with engine.begin() as conn:
            return conn.execute(text(sql), params).scalar_one()

    try:
        upgrade(engine, "0016")
        files = [
            one("INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id) "
                "VALUES (repeat(:c, 64), :r, 1, 1, 3) RETURNING id", c=c, r=f"{c}/x.png")
            for c in ("a", "b")
        ]  # fmt: skip
        project = one("INSERT INTO projects (name, project_status_id) VALUES ('Old', 1) RETURNING id")
        character = one(
            "INSERT INTO characters (project_id, name, character_mode_id) VALUES (:p, 'Eve', 1) RETURNING id",
            p=project,
        )
        one("INSERT INTO seed_images (character_id, seed_kind_id, file_id, seed_origin_id) "
            "VALUES (:c, 1, :f, 1) RETURNING id", c=character, f=files[0])  # fmt: skip

        assert upgrade(engine).up_to_date
        assert [one("SELECT retention_class_id FROM files WHERE id = :f", f=f) for f in files] == [
            int(RetentionClass.PERMANENT),  # the seed's file
            int(RetentionClass.WORKING),  # not a seed's: untouched
        ]
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0016")
        assert one("SELECT to_regprocedure('x121_keep_seed_file(integer)')") is None
        assert one("SELECT retention_class_id FROM files WHERE id = :f", f=files[0]) == int(RetentionClass.PERMANENT)
        assert upgrade(engine).up_to_date
        assert one("SELECT to_regprocedure('x121_keep_seed_file(integer)')::text") == "x121_keep_seed_file(integer)"
    finally:
        engine.dispose()

"""Claimer (services/orchestrator/claims.py) on a real database: uploads started while a claim takes its job.

The hook `upload_ahead(server_id, files)` is the dispatcher's (it uploads through `staging.StagedInputs` on
the io pool); here it records what it was asked and returns a finished future, so the test sees
exactly which claims start an upload and that the claim hands that upload on.
"""

from __future__ import annotations

import queue
from collections.abc import Mapping
from concurrent.futures import Future

from sqlalchemy import text

from tests.services.test_runner import db_url, insert_job, quick_prompt, register_server, store_file, studio, tiny_png
from x121_desktop.core.ids import ServerId
from x121_desktop.db.repositories.job_records import StoredFile
from x121_desktop.services.bootstrap import Studio
from x121_desktop.services.orchestrator.claims import Claimer
from x121_desktop.services.orchestrator.fleet import Fleet, ServerRow

__all__ = ["db_url", "studio"]


def _claimer(studio: Studio, asked: list[tuple[int, dict[str, str]]]) -> Claimer:
    server_id = register_server(studio.engine, "ahead", "http://ahead.invalid:8188", queued=3)
    fleet = Fleet([ServerRow(ServerId(server_id), "ahead", "http://ahead.invalid:8188", 1, 3, 1.0)], "t", queue.Queue())
    fleet.use_stored({server_id: (frozenset({"LoadImage", "ImageScale", "SaveImage"}), frozenset())})

    def upload_ahead(server: ServerId, files: Mapping[str, StoredFile]) -> Future[dict[str, str]]:
        asked.append((int(server), {k: f.sha256 for k, f in files.items()}))
        done: Future[dict[str, str]] = Future()
        done.set_result({k: f"x121_{f.sha256[:20]}.png [input]" for k, f in files.items()})
        return done

    return Claimer(studio.engine, fleet, "test-claimer", 30.0, upload_ahead)


def test_a_first_attempt_starts_its_upload_while_being_taken_and_the_claim_hands_it_on(studio: Studio) -> None:
    asked: list[tuple[int, dict[str, str]]] = []
    claimer = _claimer(studio, asked)
    with_file = insert_job(studio.engine, quick_prompt("a"), {"1.image": store_file(
        studio.engine, studio.paths.media_root, tiny_png(7))})  # fmt: skip
    without = insert_job(studio.engine, quick_prompt("b"))
    try:
        first = claimer.claim(set(), {}, True)
        second = claimer.claim(set(), {}, True)
    finally:
        claimer.close()
    assert first is not None
    assert second is not None
    assert [int(first.job.id), int(second.job.id)] == [with_file, without]
    [(server, files)] = asked  # one upload, for the job with an input; none for the job without
    assert server == int(first.handle.id)
    assert files == {"1.image": first.resolved.files["1.image"].sha256}
    assert first.uploads is not None
    assert first.uploads.result() == {"1.image": f"x121_{files['1.image'][:20]}.png [input]"}
    assert second.uploads is None


def test_a_re_dispatched_job_uploads_only_after_its_earlier_servers_were_asked(studio: Studio) -> None:
    """attempts > 0: the runner first looks for its prompt on earlier servers, so nothing starts early."""
    asked: list[tuple[int, dict[str, str]]] = []
    claimer = _claimer(studio, asked)
    job = insert_job(studio.engine, quick_prompt("c"), {"1.image": store_file(
        studio.engine, studio.paths.media_root, tiny_png(8))})  # fmt: skip
    with studio.engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET attempts = 1 WHERE id = :j"), {"j": job})
    try:
        claim = claimer.claim(set(), {}, True)
    finally:
        claimer.close()
    assert claim is not None
    assert claim.job.attempts == 2
    assert asked == []
    assert claim.uploads is None

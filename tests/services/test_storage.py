"""The content-addressed media store against a real migrated database."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from x121_desktop.core.enums import FileKind, RetentionClass
from x121_desktop.core.errors import MediaError
from x121_desktop.services.storage import MediaStore, kind_for


@pytest.fixture
def conn(db_engine: Engine) -> Iterator[Connection]:
    with db_engine.connect() as connection:
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()


def test_write_hashes_while_writing_and_lands_under_its_hash(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    data = os.urandom(3 * (1 << 20) + 17)  # several chunks
    blob = store.write_stream(io.BytesIO(data), suffix=".MP4")
    sha = hashlib.sha256(data).hexdigest()
    assert blob.sha256 == sha
    assert blob.rel_path == f"{sha[:2]}/{sha[2:]}.mp4"
    assert blob.size_bytes == len(data)
    assert store.path_of(blob.rel_path).read_bytes() == data
    assert list((tmp_path / "media" / ".incoming").iterdir()) == []  # no temp file left behind
    assert store.verify(blob.rel_path, sha)


def test_record_inserts_once_and_dedupes_equal_content(tmp_path: Path, conn: Connection) -> None:
    store = MediaStore(tmp_path / "media")
    source = tmp_path / "frame.png"
    source.write_bytes(b"\x89PNG fake but unique " + os.urandom(16))
    first = store.put_path(conn, source, retention=RetentionClass.SCRATCH)
    assert not first.reused
    row = conn.execute(
        text("SELECT sha256, rel_path, size_bytes, file_kind_id, retention_class_id FROM files WHERE id = :i"),
        {"i": first.file_id},
    ).one()
    assert row.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert row.rel_path == first.rel_path
    assert row.size_bytes == source.stat().st_size
    assert row.file_kind_id == FileKind.IMAGE
    assert row.retention_class_id == RetentionClass.SCRATCH
    # the same bytes under another name and extension: one row, one copy on disk
    again = tmp_path / "copy.bin"
    again.write_bytes(source.read_bytes())
    second = store.put_path(conn, again)
    assert second.reused
    assert second.file_id == first.file_id
    assert second.rel_path == first.rel_path
    files_on_disk = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert files_on_disk == [store.path_of(first.rel_path)]
    count = conn.execute(text("SELECT count(*) FROM files WHERE sha256 = :s"), {"s": first.sha256}).scalar_one()
    assert count == 1
    assert store.lookup(conn, first.file_id).rel_path == first.rel_path


def test_record_refuses_bytes_that_are_not_in_the_store(tmp_path: Path, conn: Connection) -> None:
    store = MediaStore(tmp_path / "media")
    blob = store.write_bytes(b"abc", suffix=".txt")
    store.path_of(blob.rel_path).unlink()
    with pytest.raises(MediaError, match="not in the media store"):
        store.record(conn, blob, kind=FileKind.OTHER)
    assert conn.execute(text("SELECT count(*) FROM files WHERE sha256 = :s"), {"s": blob.sha256}).scalar_one() == 0


def test_a_failed_write_leaves_no_file_and_no_row(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError(5, "Input/output error")
            return b"x" * 1024

    store = MediaStore(tmp_path / "media")
    with pytest.raises(MediaError, match="Cannot write into the media store"):
        store.write_stream(Broken())  # type: ignore[arg-type]  # RawIOBase is a binary stream
    assert [p for p in (tmp_path / "media").rglob("*") if p.is_file()] == []


def test_kind_from_extension() -> None:
    assert kind_for("a.MP4") is FileKind.VIDEO
    assert kind_for("a.webp") is FileKind.IMAGE
    assert kind_for("a.json") is FileKind.OTHER

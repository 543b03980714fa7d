"""Content-addressed media store under the studio media root.

A file is written to a temporary name inside the store, hashed (sha256) while it is written,
fsynced, then renamed with `os.replace` to `ab/cdef….ext` (the first two hex digits are a folder).
Only then is its `files` row inserted, so no row ever points at a missing or half-written file.
Equal bytes are stored once: a second put of the same content returns the existing row's id.
Two clients racing on the same content both rename onto the same path with the same bytes, and
the row insert is serialised by a transaction-level advisory lock on the hash.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import text

from x121_desktop.core.enums import FileKind, RetentionClass
from x121_desktop.core.errors import MediaError, NotFound
from x121_desktop.core.ids import FileId, UserId

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

CHUNK = 1 << 20
_TMP_DIR = ".incoming"
_VIDEO_EXT = {".mp4", ".webm", ".mov", ".mkv", ".avi", ".gif"}
_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


@dataclass(frozen=True, slots=True)
class Blob:
    """Bytes safely in the store, not yet (or already) recorded in `files`."""

    sha256: str
    rel_path: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class StoredFile:
    file_id: FileId
    sha256: str
    rel_path: str
    size_bytes: int
    reused: bool
    """True when equal content was already recorded and its row is returned."""


def kind_for(name: str) -> FileKind:
    suffix = Path(name).suffix.lower()
    if suffix in _VIDEO_EXT:
        return FileKind.VIDEO
    if suffix in _IMAGE_EXT:
        return FileKind.IMAGE
    return FileKind.OTHER


class MediaStore:
    """Blocking file operations: run them on the `io` executor."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, rel_path: str) -> Path:
        return self.root.joinpath(*rel_path.split("/"))

    # ------------------------------------------------------------ bytes

    def write_stream(self, source: BinaryIO, *, suffix: str = "") -> Blob:
        """Copy a stream into the store: temp file, sha256 while writing, fsync, atomic rename."""
        tmp_dir = self.root / _TMP_DIR
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MediaError(
                f"The media store at {self.root} cannot be created ({exc.strerror or exc})",
                "Check that the studio home folder is writable.",
            ) from None
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(prefix="put-", suffix=".part", dir=tmp_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            rel_path = f"{sha[:2]}/{sha[2:]}{_clean_suffix(suffix)}"
            target = self.path_of(rel_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)  # same bytes either way, so a concurrent writer is harmless
            _fsync_dir(target.parent)
        except OSError as exc:
            raise MediaError(
                f"Cannot write into the media store at {self.root} ({exc.strerror or exc})",
                "Check free disk space and permissions of the studio home folder.",
            ) from None
        finally:
            tmp.unlink(missing_ok=True)
        return Blob(sha, rel_path, size)

    def write_path(self, source: Path) -> Blob:
        try:
            with source.open("rb") as handle:
                return self.write_stream(handle, suffix=source.suffix)
        except FileNotFoundError:
            raise NotFound(f"{source} does not exist", "Check the path.") from None

    def write_bytes(self, data: bytes, *, suffix: str = "") -> Blob:
        import io

        return self.write_stream(io.BytesIO(data), suffix=suffix)

    def adopt(self, source: Path) -> Blob:
        """Move a file already written on the same disk (e.g. a download) into the store."""
        blob = self.write_path(source)
        source.unlink(missing_ok=True)
        return blob

    def copy_out(self, rel_path: str, dest: Path) -> Path:
        shutil.copyfile(self.path_of(rel_path), dest)
        return dest

    # ------------------------------------------------------------ rows

    def record(
        self,
        conn: Connection,
        blob: Blob,
        *,
        kind: FileKind,
        retention: RetentionClass = RetentionClass.WORKING,
        created_by: UserId | None = None,
    ) -> StoredFile:
        """Insert the `files` row for bytes already in the store, or return the row with equal content.

        Runs in the caller's transaction (the caller commits). `created_by` defaults to the
        signed-in user (the column default from the security revision).
        """
        if not self.path_of(blob.rel_path).is_file():
            raise MediaError(
                f"{blob.rel_path} is not in the media store at {self.root}",
                "Write the bytes with write_stream() before recording them.",
            )
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 121))"), {"k": "file:" + blob.sha256})
        row = conn.execute(
            text("SELECT id, rel_path, size_bytes FROM files WHERE sha256 = :sha ORDER BY id LIMIT 1"),
            {"sha": blob.sha256},
        ).first()
        if row is not None:
            if row.rel_path != blob.rel_path:
                # the same bytes under another extension: keep the one recorded copy
                self.path_of(blob.rel_path).unlink(missing_ok=True)
            return StoredFile(FileId(row.id), blob.sha256, row.rel_path, row.size_bytes, reused=True)
        values = {
            "sha": blob.sha256,
            "rel": blob.rel_path,
            "size": blob.size_bytes,
            "kind": int(kind),
            "ret": int(retention),
        }
        if created_by is None:
            sql = (
                "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id) "
                "VALUES (:sha, :rel, :size, :kind, :ret) RETURNING id"
            )
        else:
            values["by"] = int(created_by)
            sql = (
                "INSERT INTO files (sha256, rel_path, size_bytes, file_kind_id, retention_class_id, created_by) "
                "VALUES (:sha, :rel, :size, :kind, :ret, :by) RETURNING id"
            )
        file_id = conn.execute(text(sql), values).scalar_one()
        return StoredFile(FileId(file_id), blob.sha256, blob.rel_path, blob.size_bytes, reused=False)

    def put_path(
        self,
        conn: Connection,
        source: Path,
        *,
        kind: FileKind | None = None,
        retention: RetentionClass = RetentionClass.WORKING,
        created_by: UserId | None = None,
    ) -> StoredFile:
        """write_path + record in one call (the caller commits)."""
        blob = self.write_path(source)
        return self.record(conn, blob, kind=kind or kind_for(source.name), retention=retention, created_by=created_by)

    def lookup(self, conn: Connection, file_id: FileId) -> StoredFile:
        row = conn.execute(
            text("SELECT sha256, rel_path, size_bytes FROM files WHERE id = :id"), {"id": int(file_id)}
        ).first()
        if row is None:
            raise NotFound(f"File {file_id} is not in the studio database", "Check the file id.")
        return StoredFile(file_id, row.sha256, row.rel_path, row.size_bytes, reused=True)

    def verify(self, rel_path: str, sha256: str) -> bool:
        """True when the stored bytes still hash to `sha256`."""
        digest = hashlib.sha256()
        try:
            with self.path_of(rel_path).open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
        except FileNotFoundError:
            return False
        return digest.hexdigest() == sha256


def _clean_suffix(suffix: str) -> str:
    suffix = suffix.lower()
    if not suffix.startswith(".") or len(suffix) > 10 or not suffix[1:].isalnum():
        return ""
    return suffix


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

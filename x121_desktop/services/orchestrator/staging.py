"""Input files already sent to a server: each (server, content) is uploaded once.

A claim starts uploading a job's inputs as soon as it has chosen job and server. Jobs often share
inputs (a scene's segments start from the same seeds), and files are named by content
(`x121_<sha256 prefix><suffix>`), which ComfyUI answers with the same name when it already has the
bytes: so an upload is not repeated while an earlier one of the same file to the same server is in
flight or done. A failed upload is forgotten (the next need uploads again and says the error); so
is everything sent to a server that restarted or refused a prompt (an input may have been deleted
there since).

(Staging the *next* job's inputs ahead of its claim was tried and measured: on the stand-ins the
extra upload delayed the current job's POST /prompt on the same server more than it saved.)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING

from x121_desktop.core.ids import ServerId

if TYPE_CHECKING:
    from x121_desktop.comfy.client import ComfyClient
    from x121_desktop.db.repositories.job_records import StoredFile
    from x121_desktop.services.storage import MediaStore

LIMIT = 512
"""(server, file) pairs remembered; the oldest are forgotten first (uploading again is harmless)."""


def upload_one(client: ComfyClient, store: MediaStore, stored: StoredFile) -> str:
    """Upload one stored file by its content name (blocking); the name the server gave it."""
    path = store.path_of(stored.rel_path)
    return client.upload(path, name=f"x121_{stored.sha256[:20]}{path.suffix}").annotated_path


class StagedInputs:
    def __init__(self, io: Executor, store: MediaStore) -> None:
        self._io, self._store = io, store
        self._lock = threading.RLock()  # a done future's callback runs at once, in this thread
        self._staged: OrderedDict[tuple[ServerId, str], Future[str]] = OrderedDict()
        self.uploads = 0
        """Uploads started (for tests and figures)."""

    def upload(
        self, server_id: ServerId, client: ComfyClient, files: Mapping[str, StoredFile]
    ) -> Future[dict[str, str]]:
        """Upload target → the server's name for each file, uploading only what is not staged there yet."""
        with self._lock:
            parts = {target: self._stage(server_id, client, stored) for target, stored in files.items()}
        return _all_of(parts)

    def _stage(self, server_id: ServerId, client: ComfyClient, stored: StoredFile) -> Future[str]:
        key = (server_id, stored.sha256)
        found = self._staged.get(key)
        if found is not None and not (found.done() and found.exception() is not None):
            self._staged.move_to_end(key)
            return found
        future = self._io.submit(upload_one, client, self._store, stored)
        self.uploads += 1
        self._staged[key] = future

        def forget_failure(done: Future[str]) -> None:
            if done.exception() is not None:
                self._failed(key, done)

        future.add_done_callback(forget_failure)
        while len(self._staged) > LIMIT:
            self._staged.popitem(last=False)
        return future

    def _failed(self, key: tuple[ServerId, str], future: Future[str]) -> None:
        with self._lock:
            if self._staged.get(key) is future:
                del self._staged[key]

    def forget(self, server_id: ServerId) -> None:
        """The server restarted (or left): what was staged there may be gone."""
        with self._lock:
            for key in [k for k in self._staged if k[0] == server_id]:
                del self._staged[key]


def _all_of(parts: Mapping[str, Future[str]]) -> Future[dict[str, str]]:
    """One future for several: target → name when all are done, the first failure otherwise (no thread waits)."""
    out: Future[dict[str, str]] = Future()
    if not parts:
        out.set_result({})
        return out
    lock, left = threading.Lock(), [len(parts)]

    def done(_: Future[str]) -> None:
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if not last or out.done():
            return
        failed = next((f.exception() for f in parts.values() if f.exception() is not None), None)
        if failed is not None:
            out.set_exception(failed)
        else:
            out.set_result({target: f.result() for target, f in parts.items()})

    for future in parts.values():
        future.add_done_callback(done)
    return out

"""Blocking HTTP client for one ComfyUI server (run it on the `io` executor).

Every failure becomes a ComfyError subclass with one sentence naming the server URL and
what to do; callers never see a socket error or a JSON traceback.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from x121_desktop.comfy.errors import (
    ComfyNotFound,
    ComfyProtocolError,
    ComfyUnreachable,
    PromptRejected,
)
from x121_desktop.comfy.protocol import JsonFields, OutputFile
from x121_desktop.comfy.rest import (
    HistoryEntry,
    PromptAccepted,
    QueueState,
    SystemStats,
    UploadResult,
    parse_history,
    parse_prompt_accepted,
    parse_queue,
    parse_system_stats,
    parse_upload,
    prompt_rejection,
)
from x121_desktop.core.errors import ComfyError

# /object_info is ~500 kB: cached per server, keyed by the server's boot marker.
_object_info_lock = threading.Lock()
_object_info_cache: dict[str, tuple[str | None, Mapping[str, Any]]] = {}


def invalidate_object_info(base_url: str) -> None:
    """Forget the cached /object_info of a server (called when it restarts or reconnects)."""
    with _object_info_lock:
        _object_info_cache.pop(normalize_url(base_url), None)


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    return url


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    content_type: str
    body: bytes


class ComfyClient:
    """HTTP side of one ComfyUI server. Thread-safe: each request opens its own connection."""

    def __init__(self, base_url: str, *, client_id: str | None = None, timeout: float = 30.0) -> None:
        self.url = normalize_url(base_url)
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ComfyError(
                f"'{base_url}' is not a ComfyUI server URL",
                "Give it as http://host:port, for example http://127.0.0.1:8188.",
            )
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.timeout = timeout

    # ------------------------------------------------------------ transport

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        query: Mapping[str, str] | None = None,
        timeout: float | None = None,
        sink: Path | None = None,
    ) -> Response:
        """One HTTP exchange; the body goes to `sink` (streamed) when given."""
        target = self._prefix + path + ("?" + urllib.parse.urlencode(query) if query else "")
        what = f"{method} {path}"
        headers = {"Accept": "application/json", "User-Agent": "x121-studio"}
        if content_type:
            headers["Content-Type"] = content_type
        wait = timeout if timeout is not None else self.timeout
        conn = self._connection(wait)
        try:
            conn.request(method, target, body=body, headers=headers)
            reply = conn.getresponse()
            ctype = (reply.getheader("Content-Type") or "").split(";")[0].strip().lower()
            if sink is not None and reply.status == 200:
                _stream_to(reply, sink)
                data = b""
            else:
                data = reply.read()
        except ConnectionRefusedError:
            raise ComfyUnreachable(
                f"ComfyUI at {self.url} refused the connection",
                "Start ComfyUI on that machine, or check the host and port in the server settings.",
            ) from None
        except TimeoutError:
            raise ComfyUnreachable(
                f"ComfyUI at {self.url} did not answer {what} within {wait:g} s",
                "Check that the server is not hung or overloaded, then retry.",
            ) from None
        except socket.gaierror:
            raise ComfyUnreachable(
                f"The host name of {self.url} cannot be resolved",
                "Check the spelling of the server URL or use its IP address.",
            ) from None
        except (http.client.HTTPException, ConnectionError):
            raise ComfyUnreachable(
                f"ComfyUI at {self.url} closed the connection before answering {what}",
                "Check that the server is still running (it may have crashed or restarted), then retry.",
            ) from None
        except OSError as exc:
            raise ComfyUnreachable(
                f"ComfyUI at {self.url} cannot be reached ({exc.strerror or exc})",
                "Check the network and the server URL, then retry.",
            ) from None
        finally:
            conn.close()
        response = Response(reply.status, ctype, data)
        self._check_status(response, what)
        return response

    def _check_status(self, r: Response, what: str) -> None:
        if r.content_type == "text/html":
            raise ComfyProtocolError(
                f"{self.url} answered {what} with an HTML page (HTTP {r.status}) instead of ComfyUI's JSON",
                "Check that the URL points at ComfyUI itself and not at a proxy, router or login page.",
            )
        if r.status == 403:
            raise ComfyError(
                f"ComfyUI at {self.url} refused {what} (403 Forbidden)",
                "ComfyUI's Origin check blocks cross-site requests; remove any proxy that adds an Origin "
                "header, or start ComfyUI with --enable-cors-header.",
            )
        if r.status >= 500:
            first = r.body.decode("utf-8", "replace").strip().splitlines()[:1]
            said = f": {first[0][:120]}" if first else ""
            raise ComfyProtocolError(
                f"ComfyUI at {self.url} failed on {what} with HTTP {r.status}{said}",
                "Look at the ComfyUI console log on that server, then retry.",
            )

    def _json(self, r: Response, what: str) -> object:
        try:
            return json.loads(r.body)
        except (ValueError, UnicodeDecodeError):
            raise ComfyProtocolError(
                f"ComfyUI at {self.url} answered {what} with a body that is not valid JSON",
                "Check that the URL points at a ComfyUI server and that it is not overloaded, then retry.",
            ) from None

    def get_json(self, path: str, query: Mapping[str, str] | None = None) -> object:
        r = self.request("GET", path, query=query)
        if r.status != 200:
            raise self._unexpected(r, f"GET {path}")
        return self._json(r, f"GET {path}")

    def post_json(self, path: str, payload: object) -> Response:
        body = json.dumps(payload).encode("utf-8")
        return self.request("POST", path, body=body, content_type="application/json")

    def _unexpected(self, r: Response, what: str) -> ComfyError:
        if r.status == 404:
            return ComfyNotFound(
                f"ComfyUI at {self.url} has no {what.split(' ', 1)[1]} (404)",
                "Check that the server runs a supported ComfyUI version (0.3.6x or newer).",
            )
        return ComfyProtocolError(
            f"ComfyUI at {self.url} answered {what} with HTTP {r.status}",
            "Check the ComfyUI console log on that server.",
        )

    # ------------------------------------------------------------ prompts

    def submit(
        self,
        prompt: Mapping[str, Any],
        *,
        prompt_id: str | None = None,
        front: bool = False,
        extra_data: Mapping[str, Any] | None = None,
        partial_execution_targets: list[str] | None = None,
        allow_partial: bool = False,
    ) -> PromptAccepted:
        """POST /prompt with our client_id and a client-chosen prompt_id (resubmission reuses it).

        A 200 reply that still lists node_errors means only part of the workflow would run:
        unless `allow_partial`, that run is cancelled and PromptRejected is raised.
        """
        payload: dict[str, Any] = {
            "prompt": dict(prompt),
            "client_id": self.client_id,
            "prompt_id": prompt_id or str(uuid.uuid4()),
        }
        if front:
            payload["front"] = True
        if extra_data:
            payload["extra_data"] = dict(extra_data)
        if partial_execution_targets:
            payload["partial_execution_targets"] = list(partial_execution_targets)
        r = self.post_json("/prompt", payload)
        if r.status == 400:
            raise prompt_rejection(self._json(r, "POST /prompt"), self.url)
        if r.status != 200:
            raise self._unexpected(r, "POST /prompt")
        accepted = parse_prompt_accepted(self._json(r, "POST /prompt"), self.url)
        if accepted.node_errors and not allow_partial:
            self.delete_from_queue([accepted.prompt_id])
            self.interrupt(accepted.prompt_id)
            bad = "; ".join(n.sentence() for n in accepted.node_errors)
            raise PromptRejected(
                f"ComfyUI at {self.url} accepted only part of the workflow: {bad}",
                "Fix those inputs (missing models must be installed on that server) and resubmit; "
                "the partial run was cancelled.",
                error_type="partial_acceptance",
                node_ids=tuple(n.node_id for n in accepted.node_errors),
            )
        return accepted

    def history(self, prompt_id: str) -> HistoryEntry | None:
        """The history entry of one prompt, or None while it is queued, running or unknown."""
        entries = parse_history(self.get_json(f"/history/{urllib.parse.quote(prompt_id)}"), self.url)
        return entries.get(prompt_id)

    def histories(self, max_items: int | None = None) -> dict[str, HistoryEntry]:
        query = {"max_items": str(max_items)} if max_items is not None else None
        return parse_history(self.get_json("/history", query), self.url)

    def delete_history(self, prompt_ids: list[str] | None = None) -> None:
        self._post_ok("/history", {"delete": prompt_ids} if prompt_ids is not None else {"clear": True})

    def queue(self) -> QueueState:
        return parse_queue(self.get_json("/queue"), self.url)

    def delete_from_queue(self, prompt_ids: list[str]) -> None:
        self._post_ok("/queue", {"delete": list(prompt_ids)})

    def clear_queue(self) -> None:
        self._post_ok("/queue", {"clear": True})

    def interrupt(self, prompt_id: str | None = None) -> None:
        """Interrupt the running prompt; with a prompt_id only if that one is running."""
        self._post_ok("/interrupt", {"prompt_id": prompt_id} if prompt_id else {})

    def free(self, *, unload_models: bool = False, free_memory: bool = False) -> None:
        self._post_ok("/free", {"unload_models": unload_models, "free_memory": free_memory})

    def _post_ok(self, path: str, payload: object) -> None:
        r = self.post_json(path, payload)
        if r.status != 200:
            raise self._unexpected(r, f"POST {path}")

    # ------------------------------------------------------------ server facts

    def system_stats(self) -> SystemStats:
        return parse_system_stats(self.get_json("/system_stats"), self.url)

    def features(self) -> Mapping[str, Any]:
        return JsonFields(self.get_json("/features"), self.url, "reply to GET /features").data

    def models(self, folder: str) -> tuple[str, ...]:
        raw = self.get_json(f"/models/{urllib.parse.quote(folder)}")
        if not isinstance(raw, list):
            raise ComfyProtocolError(f"ComfyUI at {self.url} listed models/{folder} as something other than a list")
        return tuple(str(n) for n in raw)

    def boot_marker(self) -> str | None:
        """A value that changes when the server restarts: the time of its first log line."""
        try:
            raw = self.get_json("/internal/logs/raw")
        except (ComfyNotFound, ComfyProtocolError):
            return None
        entries = raw.get("entries") if isinstance(raw, dict) else None
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            first = entries[0].get("t")
            return str(first) if first is not None else None
        return None

    def object_info(self, *, refresh: bool = False) -> Mapping[str, Any]:
        """GET /object_info, cached per server until it restarts (or `refresh`)."""
        marker = self.boot_marker()
        with _object_info_lock:
            cached = _object_info_cache.get(self.url)
        if cached is not None and not refresh and (marker is None or cached[0] == marker):
            return cached[1]
        info = JsonFields(self.get_json("/object_info"), self.url, "reply to GET /object_info").data
        with _object_info_lock:
            _object_info_cache[self.url] = (marker, info)
        return info

    # ------------------------------------------------------------ files

    def upload(
        self,
        source: Path | bytes,
        *,
        name: str | None = None,
        subfolder: str = "",
        kind: str = "input",
        overwrite: bool = False,
        content_type: str = "application/octet-stream",
    ) -> UploadResult:
        """POST /upload/image (any file type). Always use the returned name: ComfyUI may rename."""
        if isinstance(source, Path):
            try:
                data = source.read_bytes()
            except OSError as exc:
                raise ComfyError(f"Cannot read {source} for upload ({exc.strerror})", "Check the file.") from None
            name = name or source.name
        else:
            data = source
        if not name:
            raise ComfyError("An upload to ComfyUI needs a file name", "Pass name=… with the bytes.")
        fields = {"type": kind, "subfolder": subfolder}
        if overwrite:
            fields["overwrite"] = "true"
        body, ctype = _multipart(fields, "image", name, data, content_type)
        r = self.request("POST", "/upload/image", body=body, content_type=ctype)
        if r.status == 400:
            raise ComfyError(
                f"ComfyUI at {self.url} refused the upload of {name} into '{subfolder or '.'}'",
                "Use a plain subfolder name inside the input folder (no '..').",
            )
        if r.status != 200:
            raise self._unexpected(r, "POST /upload/image")
        return parse_upload(self._json(r, "POST /upload/image"), self.url)

    def download(self, file: OutputFile, dest: Path) -> Path:
        """GET /view into `dest` atomically: a reader sees no file or the whole file."""
        query = {"filename": file.filename, "subfolder": file.subfolder, "type": file.type}
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            r = self.request("GET", "/view", query=query, sink=tmp, timeout=max(self.timeout, 120.0))
            if r.status == 404:
                where = f"{file.subfolder}/{file.filename}" if file.subfolder else file.filename
                raise ComfyNotFound(
                    f"ComfyUI at {self.url} has no {file.type} file {where}",
                    "It was deleted or the server restarted (temp files are wiped there); run the job again.",
                )
            if r.status != 200:
                raise self._unexpected(r, "GET /view")
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest


def _stream_to(reply: http.client.HTTPResponse, path: Path) -> None:
    with path.open("wb") as out:
        while chunk := reply.read(1 << 20):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def _multipart(
    fields: Mapping[str, str], file_field: str, filename: str, data: bytes, content_type: str
) -> tuple[bytes, str]:
    boundary = "x121" + uuid.uuid4().hex
    parts: list[bytes] = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    safe = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{safe}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
    )
    parts.append(data)
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"

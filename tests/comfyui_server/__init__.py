"""A ComfyUI 0.3.64 stand-in reproducing ../shared/comfyui, for tests (see server.ComfyTestServer)."""

from __future__ import annotations

from tests.comfyui_server.server import ComfyTestServer

__all__ = ["ComfyTestServer"]

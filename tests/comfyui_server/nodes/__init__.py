"""The node classes the stand-in really executes; others validate but fail when run."""

from __future__ import annotations

from tests.comfyui_server.nodes import images, models, video
from tests.comfyui_server.nodes.base import NodeImpl

NODES: dict[str, NodeImpl] = {**images.NODES, **video.NODES, **models.NODES}

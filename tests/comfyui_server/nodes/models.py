"""Model loaders: the stand-in has no weights, so loading a listed file fails like a fake one does."""

from __future__ import annotations

from tests.comfyui_server.nodes.base import NodeContext, NodeImpl, NodeResult


class SafetensorError(Exception):
    pass


SafetensorError.__module__ = "safetensors._safetensors_rust"


def checkpoint_loader_simple(ctx: NodeContext, ckpt_name: str) -> NodeResult:
    raise SafetensorError("Error while deserializing header: header too large")


NODES = {"CheckpointLoaderSimple": NodeImpl(checkpoint_loader_simple)}

"""Shared setup for the pipeline tests beyond the first e2e: a studio on the stand-in with the
graded model-free workflow (per-segment colour grade and subject swap), Seed A = astronaut,
Seed B = scikit-image's coffee cup (another subject entirely)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from skimage import data
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.comfyui_server import ComfyTestServer
from tests.services.test_pipeline_e2e import WORKFLOWS, Cli

GRADED = "x121-i2v-modelfree-graded"
SMALL = ("--fps", "8", "--segment-frames", "9-17", "--frame-rule", "4n+1", "--param", "width=256",
         "--param", "height=192", "--seed", "7")  # fmt: skip
RUN = ("--wait", "--dispatch", "--timeout", "120")


def png(path: Path, pixels: npt.NDArray[np.uint8]) -> Path:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def setup_graded_studio(cli: Cli, server: ComfyTestServer, tmp_path: Path) -> None:
    seed_a = png(tmp_path / "astronaut.png", data.astronaut())
    seed_b = png(tmp_path / "coffee.png", data.coffee())
    cli("character", "add", "Ada", "--seed-a", str(seed_a), "--seed-b", str(seed_b))
    cli("server", "add", "--name", "gpu1", server.url)
    cli("workflow", "import", "--name", "graded", str(WORKFLOWS / f"{GRADED}.api.json"),
        "--manifest", str(WORKFLOWS / f"{GRADED}.manifest.json"))  # fmt: skip


def rows(engine: Engine, sql: str, **params: object) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))

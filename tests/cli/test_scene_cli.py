"""`x121 scene|segment|take`: what a person mistypes gets one sentence and a non-zero exit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.services.test_runner import fresh_database
from x121_desktop.cli.main import main


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["scene", "status", "intro"], "does not name a scene"),
        (["scene", "status", "Ada/intro"], "There is no scene Ada/intro"),
        (["segment", "regenerate", "Ada/intro", "3-2"], "runs backwards"),
        (["take", "approve", "999", "--final"], "Take 999 does not exist"),
        (["scene", "create", "Ada", "intro", "--workflow", "i2v", "--duration", "soon"], "not a duration range"),
    ],
)
def test_mistakes_are_one_sentence(
    new_database: Callable[[], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    sentence: str,
) -> None:
    url = fresh_database(new_database)
    code = main(["--database-url", url, "--home", str(tmp_path / "home"), *args])
    err = capsys.readouterr().err
    assert code != 0
    assert sentence in err
    assert err.startswith("x121: error: ")

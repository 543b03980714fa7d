"""The warm-start key: explicit, canonical, and sensitive to exactly what changes the result."""

from __future__ import annotations

import hashlib

import pytest

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.orchestration.cache_key import KEY_VERSION, canonical_json, warm_start_key

WF = "a" * 64
IMG = hashlib.sha256(b"seed image bytes").hexdigest()
OTHER = hashlib.sha256(b"other bytes").hexdigest()


def key(**overrides: object) -> str:
    args: dict[str, object] = {
        "workflow_content_hash": WF,
        "inputs": {"prompt": "a person turns", "cfg": 5.0, "frames": 81, "seed_a": "/shots/a.png"},
        "file_hashes": {"seed_a": IMG},
        "seed": 42,
    }
    args.update(overrides)
    return warm_start_key(**args)  # type: ignore[arg-type]


def test_key_is_sha256_of_the_documented_document() -> None:
    document = {
        "v": KEY_VERSION,
        "workflow": WF,
        "inputs": {"cfg": 5, "frames": 81, "prompt": "a person turns"},
        "files": {"seed_a": IMG},
        "seed": 42,
    }
    expected = hashlib.sha256(canonical_json(document).encode()).hexdigest()
    assert key() == expected
    assert len(key()) == 64


def test_order_insensitive() -> None:
    inputs = {"seed_a": "/shots/a.png", "frames": 81, "cfg": 5.0, "prompt": "a person turns"}
    assert key(inputs=inputs) == key()
    nested_a = {"opts": {"x": 1, "y": [1, 2]}}
    nested_b = {"opts": {"y": (1, 2), "x": 1}}
    assert key(inputs=nested_a, file_hashes={}) == key(inputs=nested_b, file_hashes={})


def test_file_content_not_path() -> None:
    moved = key(inputs={"prompt": "a person turns", "cfg": 5.0, "frames": 81, "seed_a": "/elsewhere/b.png"})
    assert moved == key()
    assert key(file_hashes={"seed_a": OTHER}) != key()
    assert key(file_hashes={"seed_a": IMG.upper()}) == key()


def test_seed_matters() -> None:
    assert key(seed=43) != key()
    assert key(seed=None) != key(seed=0)


def test_workflow_matters() -> None:
    assert key(workflow_content_hash="b" * 64) != key()


def test_input_values_matter() -> None:
    assert key(inputs={"prompt": "a person waves", "cfg": 5.0, "frames": 81, "seed_a": "x"}) != key()
    assert key(inputs={"prompt": "a person turns", "cfg": 5.0, "frames": 97, "seed_a": "x"}) != key()


def test_numbers_normalised() -> None:
    base = {"cfg": 5}
    assert key(inputs=base, file_hashes={}) == key(inputs={"cfg": 5.0}, file_hashes={})
    assert key(inputs={"d": 0.1 + 0.2}, file_hashes={}) == key(inputs={"d": 0.3}, file_hashes={})
    assert key(inputs={"d": -0.0}, file_hashes={}) == key(inputs={"d": 0}, file_hashes={})
    assert key(inputs={"d": 0.3}, file_hashes={}) != key(inputs={"d": 0.31}, file_hashes={})
    assert key(inputs={"d": True}, file_hashes={}) != key(inputs={"d": 1}, file_hashes={})
    assert key(inputs={"d": "5"}, file_hashes={}) != key(inputs={"d": 5}, file_hashes={})


def test_file_input_given_only_by_hash_counts() -> None:
    assert key(inputs={}, file_hashes={"seed_b": IMG}) != key(inputs={}, file_hashes={})


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"inputs": {"x": float("nan")}}, "not a usable number"),
        ({"inputs": {"x": {1, 2}}}, "a set value"),
        ({"workflow_content_hash": " "}, "content hash"),
        ({"seed": 1.5}, "not a whole number"),
        ({"file_hashes": {"seed_a": ""}}, "has no content hash"),
    ],
)
def test_refusals_are_sentences(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        key(**overrides)

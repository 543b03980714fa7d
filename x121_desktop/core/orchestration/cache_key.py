"""The warm-start cache key: when two jobs would compute the same thing, reuse the first one's outputs.

The key is the sha256 (hex) of this canonical JSON document, UTF-8, keys sorted, no spaces::

    {"files": {<input name>: <sha256 of the file's bytes>, ...},
     "inputs": {<input name>: <value>, ...},      # inputs that name files are left out here
     "seed": <int or null>,
     "v": "x121-warm-start/1",
     "workflow": <workflow version content hash>}

What makes two jobs the same (and what does not):
- the workflow version's *content* hash, not its name or id;
- resolved inputs by value; inputs that name files count by the file's content hash only, so the same
  picture under another path or name hits, and an edited picture under the same path misses;
- the seed (None means the workflow has no seed, e.g. an upscale; a random seed must be resolved to a
  number before the key is made, or the job is not repeatable and must not be cached);
- numbers by value: 5 and 5.0 are the same, floats are compared at 12 significant digits (so
  0.1 + 0.2 equals 0.3), -0.0 is 0; booleans stay booleans; tuples are lists.
Order of keys never matters. NaN, infinities, and values that are not JSON-like are refused.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from x121_desktop.core.errors import InvalidInput

KEY_VERSION = "x121-warm-start/1"
_FLOAT_DIGITS = 12


def warm_start_key(
    workflow_content_hash: str,
    inputs: Mapping[str, object],
    file_hashes: Mapping[str, str],
    seed: int | None,
) -> str:
    """sha256 hex of the canonical document above.

    `file_hashes` maps each input name whose value names a file to the sha256 of that file's bytes;
    those inputs' values (paths) are replaced by the hash. A name in `file_hashes` but not in `inputs`
    still counts (a file input given only by content).
    """
    if not workflow_content_hash.strip():
        raise InvalidInput("The warm-start key needs the workflow version's content hash", "Save the workflow first.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidInput(f"The seed {seed!r} is not a whole number", "Resolve the seed to an integer first.")
    document = {
        "v": KEY_VERSION,
        "workflow": workflow_content_hash.strip().lower(),
        "inputs": {str(k): _canonical(v, str(k)) for k, v in inputs.items() if k not in file_hashes},
        "files": {str(k): _file_hash(str(k), h) for k, h in file_hashes.items()},
        "seed": seed,
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def canonical_json(document: object) -> str:
    """JSON with sorted keys, no whitespace, non-ASCII kept, NaN refused."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _file_hash(name: str, value: str) -> str:
    text = value.strip().lower()
    if not text:
        raise InvalidInput(f"Input {name} names a file but has no content hash", "Hash the file before dispatch.")
    return text


def _canonical(value: object, where: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _float(value, where)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise InvalidInput(
        f"Input {where} has a {type(value).__name__} value, which a job cannot carry",
        "Use text, numbers, booleans, lists or objects.",
    )


def _float(value: float, where: str) -> int | float:
    if not math.isfinite(value):
        raise InvalidInput(f"Input {where} is {value}, which is not a usable number", "Enter a finite number.")
    rounded = float(format(value, f".{_FLOAT_DIGITS}g"))
    if rounded.is_integer():
        return int(rounded)
    return rounded

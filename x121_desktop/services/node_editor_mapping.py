"""Parameter mapping for the node editor: expose node inputs as named studio parameters in the manifest.

The manifest stays plain JSON (the `x121.workflow-manifest` format of comfy/templates.py, as stored
with each workflow version); these functions return a new dict for every change, so the editor can
keep the old one for undo and nothing edits a manifest in place. `form_fields` turns a manifest into
the simple form artists see instead of the graph.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from x121_desktop.comfy.object_info import ObjectInfo
from x121_desktop.comfy.templates import (
    COMPATIBLE,
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    ParamType,
    parse_manifest,
)
from x121_desktop.comfy.validate import MODEL_INPUTS
from x121_desktop.core.errors import InvalidInput

# The parameters the pipeline fills (scene + segment settings), with the type each one carries.
STUDIO_PARAMETERS: Mapping[str, tuple[ParamType, str]] = {
    "seed_image_a": (ParamType.IMAGE, "the segment's start image (seed A)"),
    "seed_image_b": (ParamType.IMAGE, "the segment's end image (seed B)"),
    "prompt": (ParamType.STRING, "the scene's prompt"),
    "negative_prompt": (ParamType.STRING, "the scene's negative prompt"),
    "seed": (ParamType.INT, "the generation seed (the scene's seed policy decides it)"),
    "frame_count": (ParamType.INT, "frames in the segment"),
    "width": (ParamType.INT, "output width in pixels"),
    "height": (ParamType.INT, "output height in pixels"),
    "fps": (ParamType.FLOAT, "frames per second"),
    "likeness_weight": (ParamType.FLOAT, "how strongly the face is held to the seed image"),
    "output_prefix": (ParamType.STRING, "where the server saves the outputs"),
}


@dataclass(frozen=True, slots=True)
class InputInfo:
    """One widget input of a node, as the editor shows it."""

    node_id: str
    input_name: str
    input_type: str  # the /object_info type: INT, FLOAT, STRING, BOOLEAN, COMBO
    value: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    upload: str | None = None  # "image_upload", "video_upload", ...


@dataclass(frozen=True, slots=True)
class FormField:
    """One row of the artist's form."""

    name: str
    type: ParamType
    default: Any
    required: bool
    minimum: float | None
    maximum: float | None
    choices: tuple[Any, ...] | None
    description: str
    targets: tuple[tuple[str, str], ...]


def new_manifest(workflow: str, title: str = "") -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "workflow": workflow,
        "title": title or workflow,
        "parameters": {},
        "outputs": {},
    }


def param_type_for(inp: InputInfo) -> ParamType:
    """The parameter type an input takes when exposed under a new, non-studio name."""
    if inp.upload is not None:
        return ParamType.VIDEO if "video" in inp.upload else ParamType.IMAGE
    simple = {"INT": ParamType.INT, "FLOAT": ParamType.FLOAT, "BOOLEAN": ParamType.BOOL, "STRING": ParamType.STRING}
    if inp.input_type in simple:
        return simple[inp.input_type]
    return ParamType.MODEL if inp.input_name in MODEL_INPUTS else ParamType.CHOICE


def fitting_names(inp: InputInfo) -> tuple[str, ...]:
    """The studio parameters this input can stand for (by type)."""
    ok = [n for n, (t, _d) in STUDIO_PARAMETERS.items() if inp.input_type in COMPATIBLE[t]]
    files = (ParamType.IMAGE, ParamType.VIDEO)
    if inp.upload is not None:
        ok = [n for n in ok if STUDIO_PARAMETERS[n][0] is param_type_for(inp)]
    elif inp.input_type == "COMBO":  # a plain choice list is no place for an uploaded file's name
        ok = [n for n in ok if STUDIO_PARAMETERS[n][0] not in files]
    return tuple(ok)


def exposed(manifest: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(node id, input name) → the parameter that writes it."""
    found: dict[tuple[str, str], str] = {}
    for name, body in (manifest.get("parameters") or {}).items():
        for t in body.get("targets") or ():
            found[(str(t.get("node")), str(t.get("input")))] = str(name)
    return found


def expose(manifest: Mapping[str, Any], name: str, inp: InputInfo) -> dict[str, Any]:
    """A copy of `manifest` where parameter `name` also writes `inp` (a new parameter takes the input's
    current value as its default and its range or choices)."""
    name = name.strip()
    if not name.isidentifier():
        raise InvalidInput(
            f"{name!r} cannot be a parameter name", "Use letters, digits and underscores, e.g. likeness_weight."
        )
    taken = exposed(manifest).get((inp.node_id, inp.input_name))
    if taken is not None and taken != name:
        raise InvalidInput(
            f"Input {inp.input_name} of node #{inp.node_id} is already the parameter {taken!r}",
            f"Stop exposing it as {taken!r} first.",
        )
    out = copy.deepcopy(dict(manifest))
    params: dict[str, Any] = out.setdefault("parameters", {})
    body = params.get(name)
    ptype = ParamType(body["type"]) if body else STUDIO_PARAMETERS.get(name, (param_type_for(inp), ""))[0]
    if inp.input_type not in COMPATIBLE[ptype] and not (inp.upload and inp.input_type == "COMBO"):
        raise InvalidInput(
            f"Input {inp.input_name} of node #{inp.node_id} takes {inp.input_type}, but {name} is a {ptype.value}",
            "Expose it under another name, or pick an input of the parameter's type.",
        )
    if body is None:
        body = {"type": ptype.value, "targets": []}
        description = STUDIO_PARAMETERS.get(name, (ptype, ""))[1]
        if description:
            body["description"] = description
        if name in ("seed_image_a", "seed_image_b", "prompt"):
            body["required"] = True
        elif inp.value is not None:
            body["default"] = inp.value
        if inp.minimum is not None:
            body["min"] = inp.minimum
        if inp.maximum is not None:
            body["max"] = inp.maximum
        if ptype is ParamType.CHOICE and inp.choices:
            body["choices"] = list(inp.choices)
        params[name] = body
    if taken is None:
        body["targets"].append({"node": inp.node_id, "input": inp.input_name})
    return out


def unexpose(manifest: Mapping[str, Any], node_id: str, input_name: str) -> dict[str, Any]:
    """A copy without that target; a parameter left with no target is removed."""
    out = copy.deepcopy(dict(manifest))
    params: dict[str, Any] = out.get("parameters") or {}
    for name in list(params):
        targets = [
            t
            for t in params[name].get("targets") or ()
            if (str(t.get("node")), t.get("input")) != (node_id, input_name)
        ]
        if targets:
            params[name]["targets"] = targets
        else:
            del params[name]
    return out


def input_info(prompt: Mapping[str, Any], info: ObjectInfo, node_id: str, input_name: str) -> InputInfo | None:
    """What the editor needs to expose one input: its type, current value, range and choices
    (None when the node or the input is unknown to this server, or the input is fed by a link)."""
    node = prompt.get(node_id)
    spec = info.get(str(node.get("class_type"))) if isinstance(node, Mapping) else None
    inp = spec.input(input_name) if spec is not None else None
    if node is None or inp is None:
        return None
    value = (node.get("inputs") or {}).get(input_name)
    if isinstance(value, list) and len(value) == 2:
        return None
    return InputInfo(
        node_id=node_id,
        input_name=input_name,
        input_type="COMBO" if inp.is_combo else inp.type,
        value=value,
        minimum=inp.minimum,
        maximum=inp.maximum,
        choices=tuple(inp.choices or ()),
        upload=inp.upload_option,
    )


def form_fields(manifest: Mapping[str, Any], source: str = "manifest") -> tuple[FormField, ...]:
    """The artist's form: one field per parameter, studio parameters first, each in manifest order."""
    if not manifest.get("parameters"):
        return ()
    parsed = parse_manifest(manifest, source)
    order = {n: i for i, n in enumerate(STUDIO_PARAMETERS)}
    params = sorted(parsed.parameters.values(), key=lambda p: order.get(p.name, len(order)))
    return tuple(
        FormField(
            name=p.name,
            type=p.type,
            default=p.default,
            required=p.required,
            minimum=p.minimum,
            maximum=p.maximum,
            choices=p.choices,
            description=p.description,
            targets=tuple((t.node, t.input) for t in p.targets),
        )
        for p in params
    )

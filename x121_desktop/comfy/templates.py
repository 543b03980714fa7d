"""Workflow manifests: named studio parameters → node inputs, so the pipeline fills a workflow blind.

A manifest is a small JSON file beside its workflow (`x.api.json` + `x.manifest.json`); its format is
documented in docs/WORKFLOWS.md. `apply` returns a new prompt with the parameters written into their
target inputs; `validate_manifest` checks a manifest against its workflow and a server's /object_info.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from x121_desktop.comfy.convert import ApiPrompt, read_json
from x121_desktop.comfy.object_info import InputSpec, ObjectInfo
from x121_desktop.core.errors import ConfigError, InvalidInput

MANIFEST_FORMAT = "x121.workflow-manifest"
MANIFEST_VERSION = 1


class ParamType(StrEnum):
    IMAGE = "image"  # a file name in the server's input folder (upload first) → LoadImage.image
    VIDEO = "video"  # likewise → LoadVideo.file
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    CHOICE = "choice"  # one of a fixed list (sampler, scheduler, ...)
    MODEL = "model"  # a model file name; the server's list decides (validation reports missing ones)


# Which object_info input types each parameter type may write to.
COMPATIBLE: Mapping[ParamType, frozenset[str]] = {
    ParamType.IMAGE: frozenset({"COMBO", "STRING"}),
    ParamType.VIDEO: frozenset({"COMBO", "STRING"}),
    ParamType.STRING: frozenset({"STRING"}),
    ParamType.INT: frozenset({"INT"}),
    ParamType.FLOAT: frozenset({"FLOAT"}),
    ParamType.BOOL: frozenset({"BOOLEAN"}),
    ParamType.CHOICE: frozenset({"COMBO"}),
    ParamType.MODEL: frozenset({"COMBO"}),
}


@dataclass(frozen=True)
class Target:
    node: str
    input: str


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ParamType
    targets: tuple[Target, ...]
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    default_from: str | None = None  # take another parameter's value when this one is not given
    description: str = ""


@dataclass(frozen=True)
class OutputDecl:
    name: str
    node: str
    kind: str  # "video", "image", "text"
    description: str = ""


@dataclass(frozen=True)
class Manifest:
    workflow: str
    title: str
    parameters: Mapping[str, Parameter]
    outputs: Mapping[str, OutputDecl]
    source: str = "manifest"


@dataclass(frozen=True)
class ManifestProblem:
    message: str
    parameter: str | None = None

    def __str__(self) -> str:
        return self.message


def load_manifest(path: Path) -> Manifest:
    return parse_manifest(read_json(path), str(path))


def parse_manifest(raw: Any, source: str = "manifest") -> Manifest:
    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{source}: {key} {problem}", "Fix the manifest (see docs/WORKFLOWS.md).")

    if not isinstance(raw, Mapping):
        raise fail("the file", "is not a JSON object")
    if raw.get("format") != MANIFEST_FORMAT:
        raise fail("'format'", f"must be {MANIFEST_FORMAT!r}")
    if raw.get("version") != MANIFEST_VERSION:
        raise fail("'version'", f"is {raw.get('version')!r}; this studio reads version {MANIFEST_VERSION}")
    if not isinstance(raw.get("workflow"), str):
        raise fail("'workflow'", "must name the workflow file")
    params: dict[str, Parameter] = {}
    for name, body in (raw.get("parameters") or {}).items():
        params[str(name)] = _parse_parameter(str(name), body, fail)
    for p in params.values():
        if p.default_from is not None and p.default_from not in params:
            raise fail(f"parameters.{p.name}.default_from", f"names {p.default_from!r}, which is not a parameter")
    outputs: dict[str, OutputDecl] = {}
    for name, body in (raw.get("outputs") or {}).items():
        if not isinstance(body, Mapping) or "node" not in body:
            raise fail(f"outputs.{name}", 'must be {"node": id, "kind": video|image|text}')
        outputs[str(name)] = OutputDecl(
            str(name), str(body["node"]), str(body.get("kind", "")), str(body.get("description", ""))
        )
    return Manifest(str(raw["workflow"]), str(raw.get("title", raw["workflow"])), params, outputs, source)


def _parse_parameter(name: str, body: Any, fail: Callable[[str, str], ConfigError]) -> Parameter:
    key = f"parameters.{name}"
    if not isinstance(body, Mapping):
        raise fail(key, "is not an object")
    try:
        ptype = ParamType(str(body.get("type")))
    except ValueError:
        raise fail(f"{key}.type", f"must be one of {', '.join(t.value for t in ParamType)}") from None
    targets = body.get("targets")
    if not isinstance(targets, list) or not targets:
        raise fail(f"{key}.targets", "must list at least one {node, input}")
    parsed = []
    for i, t in enumerate(targets):
        if not isinstance(t, Mapping) or not isinstance(t.get("input"), str) or "node" not in t:
            raise fail(f"{key}.targets[{i}]", 'must be {"node": id, "input": name}')
        parsed.append(Target(node=str(t["node"]), input=t["input"]))
    choices = body.get("choices")
    return Parameter(
        name=name,
        type=ptype,
        targets=tuple(parsed),
        required=bool(body.get("required", False)),
        default=body.get("default"),
        minimum=body.get("min"),
        maximum=body.get("max"),
        choices=tuple(choices) if isinstance(choices, list) else None,
        default_from=body.get("default_from"),
        description=str(body.get("description", "")),
    )


def validate_manifest(manifest: Manifest, prompt: Mapping[str, Any], info: ObjectInfo) -> list[ManifestProblem]:
    """Every target node exists, has the input, the types fit, and no parameter overwrites a link."""
    problems: list[ManifestProblem] = []
    for param in manifest.parameters.values():
        for target in param.targets:
            problems.extend(_check_target(manifest, param, target, prompt, info))
        if param.required and param.default is not None:
            problems.append(
                ManifestProblem(
                    f"{manifest.source}: parameter {param.name} is required but has a default; drop one of the two",
                    param.name,
                )
            )
        if param.default is not None:
            try:
                _coerce(manifest, param, param.default)
            except InvalidInput as exc:
                problems.append(ManifestProblem(f"{manifest.source}: the default of {exc.problem}", param.name))
    for out in manifest.outputs.values():
        node = prompt.get(out.node)
        spec = info.get(str(node.get("class_type"))) if isinstance(node, Mapping) else None
        if node is None:
            problems.append(
                ManifestProblem(
                    f"{manifest.source}: output {out.name} names node #{out.node}, "
                    "which is not in the workflow; fix the node id"
                )
            )
        elif spec is not None and not spec.output_node:
            problems.append(
                ManifestProblem(
                    f"{manifest.source}: output {out.name} names node #{out.node} "
                    f"({spec.name}), which saves nothing; name a Save or Preview node"
                )
            )
    return problems


def _check_target(
    manifest: Manifest, param: Parameter, target: Target, prompt: Mapping[str, Any], info: ObjectInfo
) -> list[ManifestProblem]:
    where = f"{manifest.source}: parameter {param.name} targets node #{target.node}"
    node = prompt.get(target.node)
    if not isinstance(node, Mapping):
        return [ManifestProblem(f"{where}, which is not in the workflow; fix the node id", param.name)]
    spec = info.get(str(node.get("class_type")))
    if spec is None:
        return []  # the workflow's own validation reports the missing node type
    inp = spec.input(target.input)
    if inp is None:
        names = ", ".join(i.name for i in spec.inputs if i.section.value != "hidden")
        return [
            ManifestProblem(f"{where} ({spec.name}), which has no input {target.input!r}; it has {names}", param.name)
        ]
    value = (node.get("inputs") or {}).get(target.input)
    if isinstance(value, list) and len(value) == 2:
        return [
            ManifestProblem(
                f"{where} input {target.input}, which is fed by a link; point the parameter at a widget input instead",
                param.name,
            )
        ]
    if inp.type not in COMPATIBLE[param.type]:
        return [
            ManifestProblem(
                f"{where} input {target.input}, which takes {inp.type}, not a {param.type.value}; "
                "change the parameter type or the target",
                param.name,
            )
        ]
    return _check_limits(where, param, target, inp)


def _check_limits(where: str, param: Parameter, target: Target, inp: InputSpec) -> list[ManifestProblem]:
    problems = []
    low, high = inp.minimum, inp.maximum
    if param.minimum is not None and low is not None and param.minimum < low:
        problems.append(
            ManifestProblem(
                f"{where} input {target.input}: min {param.minimum} is below the node's {low}; raise it", param.name
            )
        )
    if param.maximum is not None and high is not None and param.maximum > high:
        problems.append(
            ManifestProblem(
                f"{where} input {target.input}: max {param.maximum} is above the node's {high}; lower it", param.name
            )
        )
    if param.type is ParamType.CHOICE and param.choices and inp.choices is not None:
        extra = [c for c in param.choices if c not in inp.choices]
        if extra:
            problems.append(
                ManifestProblem(
                    f"{where} input {target.input}: the node does not offer {', '.join(map(repr, extra))}; remove them",
                    param.name,
                )
            )
    return problems


def with_limits(manifest: Manifest, prompt: Mapping[str, Any], info: ObjectInfo) -> Manifest:
    """Fill each parameter's missing min/max/choices/default from its first target's object_info."""
    filled = {}
    for name, param in manifest.parameters.items():
        node = prompt.get(param.targets[0].node)
        spec = info.get(str(node.get("class_type"))) if isinstance(node, Mapping) else None
        inp = spec.input(param.targets[0].input) if spec is not None else None
        if inp is None:
            filled[name] = param
            continue
        filled[name] = replace(
            param,
            minimum=param.minimum if param.minimum is not None else inp.minimum,
            maximum=param.maximum if param.maximum is not None else inp.maximum,
            choices=param.choices if param.choices is not None or param.type is not ParamType.CHOICE else inp.choices,
        )
    return replace(manifest, parameters=filled)


def apply(manifest: Manifest, prompt: Mapping[str, Any], params: Mapping[str, Any]) -> ApiPrompt:
    """A new prompt with `params` written into their targets; the given prompt is not changed."""
    unknown = sorted(set(params) - set(manifest.parameters))
    if unknown:
        raise InvalidInput(
            f"{manifest.workflow} has no parameter {', '.join(map(repr, unknown))}",
            f"It takes: {', '.join(manifest.parameters)}.",
        )
    out: ApiPrompt = copy.deepcopy(dict(prompt))
    for name, param in manifest.parameters.items():
        value = params.get(name)
        if value is None and param.default_from is not None:
            value = params.get(param.default_from)
        if value is None:
            value = param.default
        if value is None:
            if param.required:
                raise InvalidInput(
                    f"{manifest.workflow} needs the parameter {name!r} ({param.type.value}), which was not given",
                    f"Pass {name}={param.description or 'a value'}.",
                )
            continue
        value = _coerce(manifest, param, value)
        for target in param.targets:
            node = out.get(target.node)
            if not isinstance(node, dict):
                raise InvalidInput(
                    f"{manifest.source}: parameter {name} targets node #{target.node}, which is not in "
                    f"{manifest.workflow}",
                    "Fix the manifest so it matches the workflow.",
                )
            node.setdefault("inputs", {})[target.input] = value
    return out


def _coerce(manifest: Manifest, param: Parameter, value: Any) -> Any:
    def bad(why: str) -> InvalidInput:
        return InvalidInput(f"parameter {param.name} for {manifest.workflow} {why}", "Pass a valid value.")

    if param.type is ParamType.INT:
        if isinstance(value, bool) or not isinstance(value, int | float | Fraction) or int(value) != value:
            raise bad(f"must be a whole number, not {value!r}")
        value = int(value)
    elif param.type is ParamType.FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
            raise bad(f"must be a number, not {value!r}")
        value = float(value)  # also takes Fraction frame rates; ComfyUI wants a float
    elif param.type is ParamType.BOOL:
        if not isinstance(value, bool):
            raise bad(f"must be true or false, not {value!r}")
    elif not isinstance(value, str):
        raise bad(f"must be text, not {value!r}")
    if param.minimum is not None and value < param.minimum:
        raise bad(f"is {value}, below its minimum {param.minimum}")
    if param.maximum is not None and value > param.maximum:
        raise bad(f"is {value}, above its maximum {param.maximum}")
    if param.choices is not None and value not in param.choices:
        raise bad(f"is {value!r}, not one of {', '.join(map(repr, param.choices))}")
    return value

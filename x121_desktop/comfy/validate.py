"""Check an API prompt against a server's /object_info before submitting it (the "health heartbeat").

Every finding is one sentence naming the node (id, title, type) and saying what to do. The checks mirror
what ComfyUI's own validation rejects, so a prompt that passes here is not refused for these reasons:
unknown node types (missing custom nodes), combo values not offered (missing models, LoRAs, checkpoints,
input files), missing required inputs, bad links, type mismatches, values out of range, cycles, no outputs.
`findings_from_reply` turns ComfyUI's own error JSON (400, or 200 with `node_errors`) into the same findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from x121_desktop.comfy.convert import Conversion, LoadedWorkflow, to_api
from x121_desktop.comfy.object_info import InputSpec, NodeSpec, ObjectInfo
from x121_desktop.core.errors import ComfyError
from x121_desktop.core.graph.analysis import find_cycle
from x121_desktop.core.graph.catalog import types_compatible

MODEL_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx", ".pt2")
# (input name) → (what it is, models/ sub-folder on the server)
MODEL_INPUTS: Mapping[str, tuple[str, str]] = {
    "ckpt_name": ("checkpoint", "checkpoints"),
    "lora_name": ("LoRA", "loras"),
    "unet_name": ("diffusion model", "diffusion_models"),
    "vae_name": ("VAE", "vae"),
    "clip_name": ("text encoder", "text_encoders"),
    "clip_name1": ("text encoder", "text_encoders"),
    "clip_name2": ("text encoder", "text_encoders"),
    "clip_name3": ("text encoder", "text_encoders"),
    "clip_name4": ("text encoder", "text_encoders"),
    "control_net_name": ("ControlNet", "controlnet"),
    "style_model_name": ("style model", "style_models"),
    "model_name": ("model", "upscale_models"),
    "audio_encoder_name": ("audio encoder", "audio_encoders"),
    "gligen_name": ("GLIGEN model", "gligen"),
    "hypernetwork_name": ("hypernetwork", "hypernetworks"),
    "photomaker_model_name": ("PhotoMaker model", "photomaker"),
}
CLASS_MODEL_FOLDERS: Mapping[str, tuple[str, str]] = {
    "CLIPVisionLoader": ("CLIP vision model", "clip_vision"),
    "UpscaleModelLoader": ("upscale model", "upscale_models"),
    "LatentUpscaleModelLoader": ("latent upscale model", "latent_upscale_models"),
}
ANNOTATIONS = (" [output]", " [input]", " [temp]")


class FindingKind(StrEnum):
    MISSING_NODE_TYPE = "missing_node_type"
    MISSING_MODEL = "missing_model"
    MISSING_INPUT_FILE = "missing_input_file"
    VALUE_NOT_IN_LIST = "value_not_in_list"
    MISSING_INPUT = "missing_input"
    BAD_LINK = "bad_link"
    TYPE_MISMATCH = "type_mismatch"
    OUT_OF_RANGE = "out_of_range"
    INVALID_VALUE = "invalid_value"
    CYCLE = "cycle"
    NO_OUTPUTS = "no_outputs"
    MALFORMED_NODE = "malformed_node"
    CONVERSION = "conversion"
    SERVER_ERROR = "server_error"


class Severity(StrEnum):
    ERROR = "error"  # ComfyUI would refuse or fail the prompt
    WARNING = "warning"  # worth knowing; the prompt may still run (input files are uploaded at submit time)


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    message: str
    node_id: str | None = None
    node_type: str | None = None
    title: str | None = None
    input_name: str | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return self.message


class WorkflowInvalid(ComfyError):
    """A workflow cannot run on a server; `findings` lists every reason."""

    def __init__(self, source: str, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        first = self.findings[0].message.rstrip(".") if self.findings else "it failed validation"
        more = len(self.findings) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
        super().__init__(f"{source} cannot run: {first}{tail}", "Fix these, then submit again.")


def ensure_valid(source: str, findings: Iterable[Finding]) -> None:
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise WorkflowInvalid(source, errors)


def validate_prompt(prompt: Mapping[str, Any], info: ObjectInfo) -> list[Finding]:
    """All findings for an API prompt, in node order."""
    findings: list[Finding] = []
    specs: dict[str, NodeSpec] = {}
    edges: dict[str, set[str]] = {}
    for node_id, node in prompt.items():
        nid = str(node_id)
        if not isinstance(node, Mapping) or not isinstance(node.get("class_type"), str):
            text = f"Node #{nid} has no class_type, so ComfyUI cannot tell what it is; re-export the workflow."
            findings.append(Finding(FindingKind.MALFORMED_NODE, text, node_id=nid))
            continue
        spec = info.get(node["class_type"])
        if spec is None:
            findings.append(_missing_type(nid, node))
            continue
        specs[nid] = spec
    for nid, spec in specs.items():
        node = prompt[nid]
        inputs = node.get("inputs") if isinstance(node.get("inputs"), Mapping) else {}
        edges[nid] = set()
        for inp in spec.inputs:
            if inp.section.value == "hidden":
                continue
            if inp.name not in inputs:
                if inp.required:
                    findings.append(_finding(FindingKind.MISSING_INPUT, nid, node, inp.name, _missing_text(inp)))
                continue
            value = inputs[inp.name]
            if _is_link(value):
                edges[nid].add(str(value[0]))
                findings.extend(_check_link(prompt, info, nid, node, inp, value))
            else:
                findings.extend(_check_value(nid, node, spec, inp, value))
    cycle = find_cycle(edges)
    if cycle is not None:
        first = prompt[cycle[0]]
        path = " → ".join(f"#{c}" for c in cycle)
        text = f"is part of a cycle ({path}); ComfyUI cannot run a loop, so remove one of these links"
        findings.append(_finding(FindingKind.CYCLE, cycle[0], first, None, text))
    if specs and not any(s.output_node for s in specs.values()) and len(specs) == len(prompt):
        findings.append(
            Finding(
                FindingKind.NO_OUTPUTS,
                "The workflow has no output node (Save Image, Save Video, Preview, ...), so ComfyUI would refuse it; "
                "add one.",
            )
        )
    return findings


def _missing_type(nid: str, node: Mapping[str, Any]) -> Finding:
    text = (
        f"needs the node type {node['class_type']}, which this server does not have (missing node type); "
        "install the custom node pack that provides it, or update ComfyUI"
    )
    return _finding(FindingKind.MISSING_NODE_TYPE, nid, node, None, text)


def _missing_text(inp: InputSpec) -> str:
    if inp.is_widget:
        return f"has no value for its required input {inp.name}; set it in the node"
    return f"has nothing connected to its required input {inp.name} ({inp.type}); connect a {inp.type} output to it"


def _check_link(
    prompt: Mapping[str, Any], info: ObjectInfo, nid: str, node: Mapping[str, Any], inp: InputSpec, value: Sequence[Any]
) -> list[Finding]:
    source_id, slot = str(value[0]), value[1]
    source = prompt.get(source_id)
    if not isinstance(source, Mapping):
        text = f"has input {inp.name} linked to node #{source_id}, which is not in the workflow; reconnect it"
        return [_finding(FindingKind.BAD_LINK, nid, node, inp.name, text)]
    source_spec = info.get(str(source.get("class_type")))
    if source_spec is None:
        return []  # reported as a missing node type already
    if not isinstance(slot, int) or not 0 <= slot < len(source_spec.outputs):
        text = (
            f"has input {inp.name} linked to output {slot} of node #{source_id} ({source_spec.name}), which has "
            f"only {len(source_spec.outputs)} output(s) on this server; reconnect it, or update ComfyUI if the "
            "workflow was made with a newer version"
        )
        return [_finding(FindingKind.BAD_LINK, nid, node, inp.name, text)]
    out_type = source_spec.outputs[slot].type
    if not types_compatible(out_type, inp.type):
        text = (
            f"expects {inp.type} on input {inp.name} but gets {out_type} from node #{source_id} "
            f"({source_spec.name}); connect a {inp.type} output instead"
        )
        return [_finding(FindingKind.TYPE_MISMATCH, nid, node, inp.name, text)]
    return []


def _check_value(nid: str, node: Mapping[str, Any], spec: NodeSpec, inp: InputSpec, value: Any) -> list[Finding]:
    if inp.choices is not None:
        return _check_choice(nid, node, spec, inp, value)
    if inp.type not in ("INT", "FLOAT"):
        return []
    try:
        number = int(value) if inp.type == "INT" else float(value)
    except (TypeError, ValueError):
        text = f"has {value!r} for {inp.name}, which is not a number ({inp.type}); enter a number"
        return [_finding(FindingKind.INVALID_VALUE, nid, node, inp.name, text)]
    low, high = inp.minimum, inp.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{low if low is not None else '-inf'} to {high if high is not None else 'inf'}"
        text = f"has {inp.name} = {value}, outside the allowed range {bounds}; pick a value in range"
        return [_finding(FindingKind.OUT_OF_RANGE, nid, node, inp.name, text)]
    return []


def _check_choice(nid: str, node: Mapping[str, Any], spec: NodeSpec, inp: InputSpec, value: Any) -> list[Finding]:
    choices = inp.choices or ()
    if value in choices or (inp.options.get("multiselect") and isinstance(value, list)):
        return []
    if inp.upload_option is not None:
        if isinstance(value, str) and value.endswith(ANNOTATIONS):
            return []  # an earlier output fed back by path ("x.png [output]"), which the server accepts
        text = (
            f"reads the input file {value!r}, which is not in the server's input folder yet (missing input file); "
            "upload it or pick another"
        )
        return [_finding(FindingKind.MISSING_INPUT_FILE, nid, node, inp.name, text, Severity.WARNING)]
    model = _model_kind(spec, inp, value)
    if model is not None:
        text = (
            f"needs the {model[0]} {value!r} ({inp.name}), which is not on this server (missing model); "
            f"copy it into ComfyUI/models/{model[1]} on the server"
            + (f" or choose one of the {len(choices)} installed" if choices else "")
        )
        return [_finding(FindingKind.MISSING_MODEL, nid, node, inp.name, text)]
    shown = ", ".join(repr(c) for c in choices[:6]) + (", ..." if len(choices) > 6 else "")
    text = f"has {inp.name} = {value!r}, which this server does not offer; choose one of {shown or 'nothing'}"
    return [_finding(FindingKind.VALUE_NOT_IN_LIST, nid, node, inp.name, text)]


def _model_kind(spec: NodeSpec, inp: InputSpec, value: Any) -> tuple[str, str] | None:
    if spec.name in CLASS_MODEL_FOLDERS and inp.name in ("clip_name", "model_name"):
        return CLASS_MODEL_FOLDERS[spec.name]
    if inp.name in MODEL_INPUTS:
        return MODEL_INPUTS[inp.name]
    if isinstance(value, str) and value.lower().endswith(MODEL_EXTENSIONS):
        return ("model file", "<the folder the node reads>")
    return None


def _finding(
    kind: FindingKind,
    nid: str,
    node: Mapping[str, Any],
    input_name: str | None,
    text: str,
    severity: Severity = Severity.ERROR,
) -> Finding:
    class_type = str(node.get("class_type", "?")) if isinstance(node, Mapping) else "?"
    title = _title(node)
    who = f'Node #{nid} "{title}" ({class_type})' if title and title != class_type else f"Node #{nid} ({class_type})"
    return Finding(
        kind=kind,
        message=f"{who} {text}.",
        node_id=nid,
        node_type=class_type,
        title=title,
        input_name=input_name,
        severity=severity,
    )


def _title(node: Any) -> str | None:
    meta = node.get("_meta") if isinstance(node, Mapping) else None
    title = meta.get("title") if isinstance(meta, Mapping) else None
    return str(title) if title else None


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int) and isinstance(value[1], int)


def check_workflow(workflow: LoadedWorkflow, info: ObjectInfo) -> tuple[Conversion, list[Finding]]:
    """Convert (UI format) and validate; conversion notes come back as warnings."""
    conversion = to_api(workflow, info)
    notes = [Finding(FindingKind.CONVERSION, n, severity=Severity.WARNING) for n in conversion.notes]
    return conversion, [*validate_prompt(conversion.prompt, info), *notes]


_REPLY_KINDS: Mapping[str, FindingKind] = {
    "value_not_in_list": FindingKind.VALUE_NOT_IN_LIST,
    "required_input_missing": FindingKind.MISSING_INPUT,
    "return_type_mismatch": FindingKind.TYPE_MISMATCH,
    "value_bigger_than_max": FindingKind.OUT_OF_RANGE,
    "value_smaller_than_min": FindingKind.OUT_OF_RANGE,
    "invalid_input_type": FindingKind.INVALID_VALUE,
    "custom_validation_failed": FindingKind.INVALID_VALUE,
    "exception_during_validation": FindingKind.BAD_LINK,
}
_REPLY_TEXT: Mapping[FindingKind, str] = {
    FindingKind.VALUE_NOT_IN_LIST: "has {input} = {value}, which the server does not offer; choose another value",
    FindingKind.MISSING_INPUT: "has nothing set or connected for its required input {input}; set or connect it",
    FindingKind.TYPE_MISMATCH: "gets the wrong type on input {input} ({details}); connect a matching output",
    FindingKind.OUT_OF_RANGE: "has {input} out of range ({message}); pick a value in range",
    FindingKind.INVALID_VALUE: "has an invalid value for {input} ({details}); correct it",
    FindingKind.MISSING_INPUT_FILE: "reads an input file the server does not have ({details}); upload it first",
    FindingKind.BAD_LINK: "could not be validated by the server ({message}: {details}); check its links",
}


def findings_from_reply(reply: Mapping[str, Any], prompt: Mapping[str, Any] | None = None) -> list[Finding]:
    """Findings from a POST /prompt reply: a 400 body, or a 200 body whose `node_errors` is not empty
    (ComfyUI then runs only the valid outputs, which the studio treats as a failure too)."""
    findings: list[Finding] = []
    error = reply.get("error")
    node_errors = reply.get("node_errors")
    if isinstance(error, Mapping) and not node_errors:
        findings.append(_top_level_finding(error, prompt or {}))
    for nid, entry in (node_errors or {}).items() if isinstance(node_errors, Mapping) else ():
        if not isinstance(entry, Mapping):
            continue
        node = (prompt or {}).get(str(nid)) or {"class_type": entry.get("class_type", "?")}
        for err in entry.get("errors") or []:
            findings.append(_node_error_finding(str(nid), node, err))
    return findings


def _top_level_finding(error: Mapping[str, Any], prompt: Mapping[str, Any]) -> Finding:
    message, details = str(error.get("message", "")), str(error.get("details", ""))
    match = re.search(r"#([^']+)'", details)
    nid = match.group(1) if match else None
    node = prompt.get(nid) if nid is not None else None
    missing = re.search(r"node (\S+) does not exist", message)
    if missing:
        node = node if isinstance(node, Mapping) else {"class_type": missing.group(1)}
        return _missing_type(nid or "?", {**node, "class_type": missing.group(1)})
    if error.get("type") == "prompt_no_outputs":
        return Finding(FindingKind.NO_OUTPUTS, "ComfyUI refused the workflow because it has no output node; add one.")
    if "class_type" in message and nid is not None:
        text = f"Node #{nid} has no class_type, so ComfyUI cannot tell what it is; re-export the workflow."
        return Finding(FindingKind.MALFORMED_NODE, text, node_id=nid)
    text = f"ComfyUI refused the workflow: {message.rstrip('.')}{f' ({details})' if details else ''}."
    return Finding(FindingKind.SERVER_ERROR, text, node_id=nid)


def _node_error_finding(nid: str, node: Mapping[str, Any], err: Any) -> Finding:
    err = err if isinstance(err, Mapping) else {}
    extra = err.get("extra_info") if isinstance(err.get("extra_info"), Mapping) else {}
    kind = _REPLY_KINDS.get(str(err.get("type")), FindingKind.SERVER_ERROR)
    input_name = str(extra.get("input_name") or err.get("details") or "?")
    value = extra.get("received_value")
    details = str(err.get("details", ""))
    if kind is FindingKind.VALUE_NOT_IN_LIST:
        model = MODEL_INPUTS.get(input_name) or (
            ("model file", "<the folder the node reads>") if str(value).lower().endswith(MODEL_EXTENSIONS) else None
        )
        if model is not None:
            text = (
                f"needs the {model[0]} {value!r} ({input_name}), which is not on this server (missing model); "
                f"copy it into ComfyUI/models/{model[1]} on the server"
            )
            return _finding(FindingKind.MISSING_MODEL, nid, node, input_name, text)
    if kind is FindingKind.INVALID_VALUE and "Invalid image file" in details:
        kind = FindingKind.MISSING_INPUT_FILE
    template = _REPLY_TEXT.get(kind, "was refused by ComfyUI ({message}: {details})")
    text = template.format(input=input_name, value=repr(value), details=details, message=err.get("message", ""))
    return _finding(kind, nid, node, input_name, text)

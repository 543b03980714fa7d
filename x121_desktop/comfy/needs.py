"""What a workflow needs from a ComfyUI server, and what a server offers, from /object_info.

A job needs every node class type in its API prompt and every model file its loader inputs name. A
server offers every node class in its /object_info and every file listed in its model combos. Both
sides classify inputs the same way, so `needs <= capabilities` is the capability check
(`core.orchestration.placement`).

Which inputs name models comes from `comfy.validate` (`MODEL_INPUTS` by input name, e.g.
ckpt_name → checkpoints, lora_name → loras, unet_name → diffusion_models, vae_name → vae,
clip_name → text_encoders; `CLASS_MODEL_FOLDERS` where a class reuses a name, e.g. CLIPVisionLoader's
clip_name → clip_vision). Anything else is derived generally: a combo input whose listed values (or,
in a prompt, whose value) are model files (`.safetensors`, `.ckpt`, `.gguf`, ...) is a model input of
a custom loader, filed under the pseudo-folder `<ClassType>.<input>` so that servers and jobs agree.
Cloud API nodes (`api_node`) have no local models; file-upload combos (LoadImage) name inputs, not
models.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from x121_desktop.comfy.object_info import InputSection, InputSpec, NodeSpec, ObjectInfo
from x121_desktop.comfy.validate import CLASS_MODEL_FOLDERS, MODEL_EXTENSIONS, MODEL_INPUTS
from x121_desktop.core.orchestration.placement import JobNeeds, ModelRef

_CLASS_INPUTS = ("clip_name", "model_name")  # the inputs CLASS_MODEL_FOLDERS re-files


def model_folder(class_type: str, input_name: str, values: tuple[Any, ...] = ()) -> str | None:
    """The models/ folder an input of `class_type` reads, or None when it names no model.

    `values` are the input's listed choices (server side) or its value (job side); they are only
    looked at for inputs the tables do not know.
    """
    if class_type in CLASS_MODEL_FOLDERS and input_name in _CLASS_INPUTS:
        return CLASS_MODEL_FOLDERS[class_type][1]
    if input_name in MODEL_INPUTS:
        return MODEL_INPUTS[input_name][1]
    if any(_is_model_file(v) for v in values):
        return f"{class_type}.{input_name}"
    return None


def capabilities_of(object_info: ObjectInfo) -> tuple[frozenset[str], frozenset[ModelRef]]:
    """(node class types, model files) a server offers, from its /object_info."""
    models: set[ModelRef] = set()
    for spec in object_info.nodes.values():
        for inp, folder in _model_inputs(spec):
            models.update(ModelRef(folder, str(c)) for c in inp.choices or () if isinstance(c, str) and c)
    return frozenset(object_info.nodes), frozenset(models)


def needs_of(api_prompt: Mapping[str, Any], object_info: ObjectInfo) -> JobNeeds:
    """Node class types and model files an API-format prompt needs.

    `object_info` (any server's, usually the one the workflow was checked against) tells which inputs
    are model combos; node types it lacks are still needed, and their inputs are classified by name
    and by value.
    """
    node_types: set[str] = set()
    models: set[ModelRef] = set()
    for node in api_prompt.values():
        if not isinstance(node, Mapping) or not isinstance(node.get("class_type"), str):
            continue
        class_type: str = node["class_type"]
        node_types.add(class_type)
        inputs = node.get("inputs")
        if isinstance(inputs, Mapping):
            models.update(_prompt_models(class_type, inputs, object_info.get(class_type)))
    return JobNeeds(node_types=frozenset(node_types), models=frozenset(models))


def _prompt_models(class_type: str, inputs: Mapping[str, Any], spec: NodeSpec | None) -> Iterator[ModelRef]:
    if spec is not None and spec.api_node:
        return
    for name, value in inputs.items():
        if not isinstance(value, str) or not value:
            continue  # links are lists; numbers and booleans are not file names
        inp = spec.input(str(name)) if spec is not None else None
        if inp is not None and not _may_name_model(inp):
            continue
        folder = model_folder(class_type, str(name), (value,))
        if folder is not None:
            yield ModelRef(folder, value)


def _model_inputs(spec: NodeSpec) -> Iterator[tuple[InputSpec, str]]:
    if spec.api_node:
        return
    for inp in spec.inputs:
        if not _may_name_model(inp):
            continue
        folder = model_folder(spec.name, inp.name, inp.choices or ())
        if folder is not None:
            yield inp, folder


def _may_name_model(inp: InputSpec) -> bool:
    return inp.is_combo and inp.section is not InputSection.HIDDEN and inp.upload_option is None


def _is_model_file(value: Any) -> bool:
    return isinstance(value, str) and value.lower().endswith(MODEL_EXTENSIONS)


FRAME_INPUTS = ("length", "frame_count", "num_frames", "frames", "video_length", "batch_size")
"""Inputs that give how many frames (or images) a node makes, first found wins."""


def work_estimate(api_prompt: Mapping[str, Any]) -> float:
    """A job's work in pixel-frames: the largest width x height x frames any node of the prompt makes.

    A video latent node (`WanImageToVideo`: width, height, length) or an image latent/scale node
    (`EmptyLatentImage`: width, height, batch_size) sets it; a prompt without sizes counts 1. Only
    relative sizes matter (the dispatcher compares jobs with each other), and only literal numbers
    count (a linked input is a list).
    """
    best = 1.0
    for node in api_prompt.values():
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if not isinstance(inputs, Mapping):
            continue
        width, height = _number(inputs.get("width")), _number(inputs.get("height"))
        if width is None or height is None:
            continue
        frames = next((f for f in (_number(inputs.get(k)) for k in FRAME_INPUTS) if f is not None), 1.0)
        best = max(best, width * height * max(frames, 1.0))
    return best


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)

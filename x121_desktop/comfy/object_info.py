"""A typed, read-only view of a ComfyUI server's `GET /object_info`.

Each node class has `input` ({required, optional, hidden}), `input_order`, `output`, `output_name`,
`output_node`, ... An input spec is `[TYPE, {options}]`. Combos come in two forms: the legacy
`[[choice, ...], {...}]` and the newer `["COMBO", {"options": [...]}]`; both become `InputSpec.choices`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.graph.catalog import SavedWidget, read_widgets_values

# Types the frontend draws as widgets (values stored in `widgets_values`); everything else is a socket.
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
# Values of the extra "control_after_generate" widget the frontend adds after a seed-like widget.
# Options that make the frontend add an extra "upload" widget after a file combo.
UPLOAD_OPTIONS = ("image_upload", "video_upload", "audio_upload", "file_upload", "animated_image_upload")


class InputSection(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    HIDDEN = "hidden"


@dataclass(frozen=True)
class InputSpec:
    """One input of a node class."""

    name: str
    type: str  # "INT", "IMAGE", "COMBO" (both combo forms), "*", "IMAGE,MASK", ...
    section: InputSection
    options: Mapping[str, Any] = field(default_factory=dict)
    choices: tuple[Any, ...] | None = None  # set for combos

    @property
    def required(self) -> bool:
        return self.section is InputSection.REQUIRED

    @property
    def is_combo(self) -> bool:
        return self.choices is not None

    @property
    def is_widget(self) -> bool:
        """Whether the frontend shows this input as a widget (its value lives in `widgets_values`)."""
        if self.section is InputSection.HIDDEN or self.options.get("forceInput"):
            return False
        return self.is_combo or self.type in WIDGET_TYPES

    @property
    def has_control_after_generate(self) -> bool:
        return bool(self.options.get("control_after_generate"))

    @property
    def upload_option(self) -> str | None:
        return next((o for o in UPLOAD_OPTIONS if self.options.get(o)), None)

    @property
    def default(self) -> Any:
        if "default" in self.options:
            return self.options["default"]
        if self.choices:
            return self.choices[0]
        return None

    @property
    def minimum(self) -> float | None:
        value = self.options.get("min")
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None

    @property
    def maximum(self) -> float | None:
        value = self.options.get("max")
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class OutputSpec:
    index: int
    name: str
    type: str
    is_list: bool = False


@dataclass(frozen=True)
class NodeSpec:
    """One node class as the server describes it."""

    name: str
    display_name: str
    category: str
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    output_node: bool
    api_node: bool = False
    deprecated: bool = False
    python_module: str = ""

    def input(self, name: str) -> InputSpec | None:
        return next((i for i in self.inputs if i.name == name), None)

    @property
    def widget_inputs(self) -> tuple[InputSpec, ...]:
        """Widget inputs in the order the frontend creates (and serialises) them."""
        return tuple(i for i in self.inputs if i.is_widget)

    @property
    def required_inputs(self) -> tuple[InputSpec, ...]:
        return tuple(i for i in self.inputs if i.required)


@dataclass(frozen=True)
class ObjectInfo:
    """Every node class one server offers, by class name."""

    nodes: Mapping[str, NodeSpec]
    source: str = "<object_info>"

    def __contains__(self, class_type: object) -> bool:
        return class_type in self.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def get(self, class_type: str) -> NodeSpec | None:
        return self.nodes.get(class_type)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "<object_info>") -> ObjectInfo:
        if not isinstance(raw, Mapping):
            raise InvalidInput(
                f"{source} is not a ComfyUI /object_info reply (expected a JSON object of node classes)",
                "Fetch it again from the server's /object_info.",
            )
        nodes: dict[str, NodeSpec] = {}
        for class_type, body in raw.items():
            if not isinstance(body, Mapping):
                raise InvalidInput(
                    f"{source}: node class {class_type!r} is not an object",
                    "Fetch /object_info again; the file is damaged.",
                )
            nodes[str(class_type)] = _node_spec(str(class_type), body, source)
        return cls(nodes=nodes, source=source)

    @classmethod
    def from_file(cls, path: Path) -> ObjectInfo:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"Cannot read {path}: {exc.strerror}", "Check the path.") from exc
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                "Fetch /object_info again.",
            ) from exc
        return cls.from_dict(raw, source=str(path))


def parse_input_spec(name: str, spec: Any, section: InputSection) -> InputSpec:
    """Parse one `[TYPE, {options}]` entry, accepting both combo forms and bare type strings."""
    if isinstance(spec, str):  # hidden inputs are sometimes a bare string ("UNIQUE_ID")
        return InputSpec(name=name, type=spec, section=section)
    if not isinstance(spec, list | tuple) or not spec:
        return InputSpec(name=name, type="*", section=section)
    head = spec[0]
    options: Mapping[str, Any] = spec[1] if len(spec) > 1 and isinstance(spec[1], Mapping) else {}
    if isinstance(head, list | tuple):  # legacy combo: [[choice, ...], {...}]
        return InputSpec(name=name, type="COMBO", section=section, options=options, choices=tuple(head))
    type_name = str(head)
    if type_name == "COMBO":
        raw_choices = options.get("options", [])
        choices = tuple(raw_choices) if isinstance(raw_choices, list | tuple) else ()
        return InputSpec(name=name, type="COMBO", section=section, options=options, choices=choices)
    return InputSpec(name=name, type=type_name, section=section, options=options)


def _node_spec(class_type: str, body: Mapping[str, Any], source: str) -> NodeSpec:
    raw_inputs = body.get("input") or {}
    order = body.get("input_order") or {}
    inputs: list[InputSpec] = []
    for section in InputSection:
        specs = raw_inputs.get(section.value) or {}
        if not isinstance(specs, Mapping):
            raise InvalidInput(f"{source}: {class_type}.input.{section.value} is not an object", "Fetch it again.")
        names = [n for n in (order.get(section.value) or []) if n in specs]
        names += [n for n in specs if n not in names]
        inputs.extend(parse_input_spec(str(n), specs[n], section) for n in names)
    out_types = body.get("output") or []
    out_names = body.get("output_name") or []
    out_lists = body.get("output_is_list") or []
    outputs = tuple(
        OutputSpec(
            index=i,
            name=str(out_names[i]) if i < len(out_names) else _type_label(t),
            type=_type_label(t),
            is_list=bool(out_lists[i]) if i < len(out_lists) else False,
        )
        for i, t in enumerate(out_types)
    )
    return NodeSpec(
        name=class_type,
        display_name=str(body.get("display_name") or class_type),
        category=str(body.get("category") or ""),
        inputs=tuple(inputs),
        outputs=outputs,
        output_node=bool(body.get("output_node")),
        api_node=bool(body.get("api_node")),
        deprecated=bool(body.get("deprecated")),
        python_module=str(body.get("python_module") or ""),
    )


def _type_label(raw: Any) -> str:
    """Output types are strings; a list output (a combo passed on) is reported as COMBO."""
    return "COMBO" if isinstance(raw, list | tuple) else str(raw)


@dataclass(frozen=True)
class WidgetValues:
    """`widgets_values` of one UI node assigned to input names, as the frontend does."""

    values: Mapping[str, Any]
    leftover: tuple[Any, ...] = ()  # values with no widget to go to (the node changed since it was saved)


def map_widget_values(spec: NodeSpec, saved: Any) -> WidgetValues:
    """Assign saved widget values to the node's widget inputs, as the frontend reads them back.

    The list is read in widget order (object_info `input_order`, sockets skipped), with the
    frontend's rules for control and upload widget values (`core.graph.catalog.read_widgets_values`,
    which the node editor uses too). Widgets missing from the list keep their default.
    """
    widgets = spec.widget_inputs
    rules = [SavedWidget(w.name, w.default, w.has_control_after_generate, bool(w.upload_option)) for w in widgets]
    found, leftover = read_widgets_values(rules, saved)
    return WidgetValues({w.name: value for w, (_, value) in zip(widgets, found, strict=True)}, leftover)

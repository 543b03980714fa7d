"""POST /prompt validation driven by object_info.json, reproducing the recorded error JSON."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Prompt = dict[str, dict[str, Any]]
Reason = dict[str, Any]


@dataclass
class Verdict:
    error: dict[str, Any] | None
    good_outputs: list[str] = field(default_factory=list)
    node_errors: dict[str, Any] = field(default_factory=dict)


def _fail(kind: str, message: str, details: str = "") -> Verdict:
    return Verdict({"type": kind, "message": message, "details": details, "extra_info": {}})


def _type_ok(received: str, wanted: Any) -> bool:
    if not isinstance(wanted, str) or received == "*" or wanted == "*":
        return True
    return bool(set(received.split(",")) & set(wanted.split(",")))


class Validator:
    """One validation pass; `file_check(class_type, input, value)` answers LoadImage/LoadVideo checks."""

    def __init__(self, info: Mapping[str, Any], prompt: Prompt, file_check: Callable[[str, str, str], str | None]):
        self.info = info
        self.prompt = prompt
        self.file_check = file_check
        self.validated: dict[str, tuple[bool, list[Reason]]] = {}

    def run(self, partial: list[str] | None) -> Verdict:
        outputs: list[str] = []
        for node_id, node in self.prompt.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return _fail(
                    "invalid_prompt",
                    "Cannot execute because a node is missing the class_type property.",
                    f"Node ID '#{node_id}'",
                )
            class_type = node["class_type"]
            if class_type not in self.info:
                return _fail(
                    "invalid_prompt",
                    f"Cannot execute because node {class_type} does not exist.",
                    f"Node ID '#{node_id}'",
                )
            if self.info[class_type].get("output_node") and (partial is None or node_id in partial):
                outputs.append(node_id)
        if not outputs:
            return _fail("prompt_no_outputs", "Prompt has no outputs")
        verdict = Verdict(None)
        own_reasons: list[Reason] = []
        for output in outputs:
            try:
                valid, reasons = self.node(output)
            except Exception as exc:
                valid, reasons = False, [_exception_reason(exc)]
                self.validated[output] = (False, reasons)
            if valid:
                verdict.good_outputs.append(output)
                continue
            own_reasons += reasons
            for node_id, (ok, node_reasons) in self.validated.items():
                if not ok and node_reasons:
                    entry = verdict.node_errors.setdefault(
                        node_id,
                        {
                            "errors": node_reasons,
                            "dependent_outputs": [],
                            "class_type": self.prompt[node_id]["class_type"],
                        },
                    )
                    entry["dependent_outputs"].append(output)
        if not verdict.good_outputs:
            details = "\n".join(f"{r['message']}: {r['details']}" for r in own_reasons)
            verdict.error = {
                "type": "prompt_outputs_failed_validation",
                "message": "Prompt outputs failed validation",
                "details": details,
                "extra_info": {},
            }
        return verdict

    def node(self, node_id: str) -> tuple[bool, list[Reason]]:
        if node_id in self.validated:
            return self.validated[node_id]
        node = self.prompt[node_id]
        class_type = node["class_type"]
        spec = self.info[class_type]["input"]
        inputs = node.get("inputs", {})
        errors: list[Reason] = []
        valid = True
        declared = [("required", n, s) for n, s in spec.get("required", {}).items()]
        declared += [("optional", n, s) for n, s in spec.get("optional", {}).items()]
        for category, name, config in declared:
            wanted = config[0]
            extra = config[1] if len(config) > 1 else {}
            info = [wanted, extra]
            if name not in inputs:
                if category == "required":
                    errors.append(
                        _reason("required_input_missing", "Required input is missing", name, {"input_name": name})
                    )
                continue
            value = inputs[name]
            if isinstance(value, list):
                upstream = self.prompt[value[0]]  # KeyError for a missing node, as in ComfyUI
                returned = self.info[upstream["class_type"]]["output"][value[1]]
                if not _type_ok(returned, wanted):
                    errors.append(
                        _reason(
                            "return_type_mismatch",
                            "Return type mismatch between linked nodes",
                            f"{name}, received_type({returned}) mismatch input_type({wanted})",
                            {"input_name": name, "input_config": info, "received_type": returned, "linked_node": value},
                        )
                    )
                    continue
                if not self.node(str(value[0]))[0]:
                    valid = False
                continue
            try:
                converters = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}
                converter = converters.get(wanted) if isinstance(wanted, str) else None
                if converter is not None:
                    value = converter(value)
                    inputs[name] = value
            except (TypeError, ValueError) as exc:
                errors.append(
                    _reason(
                        "invalid_input_type",
                        f"Failed to convert an input value to a {wanted} value",
                        f"{name}, {value}, {exc}",
                        {
                            "input_name": name,
                            "input_config": info,
                            "received_value": value,
                            "exception_message": str(exc),
                        },
                    )
                )
                continue
            custom = self.file_check(class_type, name, value) if isinstance(value, str) else None
            if custom is not None or (class_type, name) in {("LoadImage", "image"), ("LoadVideo", "file")}:
                if custom is not None:
                    errors.append(
                        _reason(
                            "custom_validation_failed",
                            "Custom validation failed for node",
                            f"{name} - {custom}",
                            {"input_name": name},
                        )
                    )
                continue
            extra_info = {"input_name": name, "input_config": info, "received_value": value}
            if "min" in extra and value < extra["min"]:
                errors.append(
                    _reason(
                        "value_smaller_than_min", f"Value {value} smaller than min of {extra['min']}", name, extra_info
                    )
                )
            elif "max" in extra and value > extra["max"]:
                errors.append(
                    _reason(
                        "value_bigger_than_max", f"Value {value} bigger than max of {extra['max']}", name, extra_info
                    )
                )
            elif isinstance(wanted, list) and value not in wanted:
                listed = f"(list of length {len(wanted)})" if len(wanted) > 20 else str(wanted)
                errors.append(
                    _reason(
                        "value_not_in_list",
                        "Value not in list",
                        f"{name}: '{value}' not in {listed}",
                        {**extra_info, "input_config": None if len(wanted) > 20 else info},
                    )
                )
        result = (not errors and valid, errors)
        self.validated[node_id] = result
        return result


def _reason(kind: str, message: str, details: str, extra: dict[str, Any]) -> Reason:
    return {"type": kind, "message": message, "details": details, "extra_info": extra}


def _exception_reason(exc: Exception) -> Reason:
    kind = type(exc)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    return {
        "type": "exception_during_validation",
        "message": "Exception when validating node",
        "details": str(exc),
        "extra_info": {"exception_type": name, "traceback": traceback.format_tb(exc.__traceback__)},
    }

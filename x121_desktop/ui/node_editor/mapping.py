"""Parameter mapping in the editor: right-click a widget input → expose it as a studio parameter, and
the manifest shown as the simple form artists use instead of the graph.

`ParameterMapping` owns the manifest being edited (plain JSON, replaced whole on every change) and
adds its entries to the canvas's input context menu. `ParameterForm` renders the manifest as one field
per parameter; editing a field writes the value into every input the parameter targets, through the
canvas's undoable widget edit, so the graph and the form never disagree.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QSpinBox,
    QWidget,
)

from x121_desktop.core.errors import X121Error
from x121_desktop.services.node_editor_mapping import (
    FormField,
    InputInfo,
    expose,
    exposed,
    fitting_names,
    form_fields,
    input_info,
    new_manifest,
    unexpose,
)

if TYPE_CHECKING:
    from x121_desktop.services.node_editor import NodeEditorService
    from x121_desktop.ui.node_editor.editor import NodeEditor

INT32 = 2**31 - 1


class ParameterMapping(QObject):
    manifest_changed = Signal(object)  # the new manifest dict

    def __init__(self, editor: NodeEditor, service: NodeEditorService, workflow: str = "workflow") -> None:
        super().__init__(editor)
        self.editor, self.service = editor, service
        self.manifest: dict[str, Any] = new_manifest(workflow)
        self.edited = False
        """True once the artist changed the mapping (a version then stores this manifest)."""
        editor.add_input_menu_hook(self.add_menu_entries)

    def set_manifest(self, manifest: Mapping[str, Any]) -> None:
        """A stored manifest was opened (not an edit)."""
        self.manifest = dict(manifest) if manifest else new_manifest(str(self.manifest.get("workflow", "workflow")))
        self.edited = False
        self.manifest_changed.emit(self.manifest)

    def _change(self, manifest: dict[str, Any]) -> None:
        self.manifest, self.edited = manifest, True
        self.manifest_changed.emit(self.manifest)

    def input(self, node_id: str, input_name: str, prompt: Mapping[str, Any] | None = None) -> InputInfo | None:
        info = self.service.object_info
        if info is None:
            return None
        api = prompt if prompt is not None else self.service.api_prompt(self.editor.document)
        return input_info(api, info, node_id, input_name)

    def add_menu_entries(self, node_id: str, input_name: str, menu: QMenu) -> None:
        if self.editor.scope is not None:
            menu.addAction("Expose as parameter (open the top level first)").setEnabled(False)
            return
        current = exposed(self.manifest).get((node_id, input_name))
        if current is not None:
            menu.addAction(f"Stop exposing as '{current}'", lambda: self.remove(node_id, input_name))
            return
        try:
            inp = self.input(node_id, input_name)
        except X121Error:
            inp = None
        if inp is None:
            menu.addAction("Expose as parameter (needs a node list and an unlinked input)").setEnabled(False)
            return
        sub = menu.addMenu("Expose as studio parameter")
        for name in fitting_names(inp):
            sub.addAction(name, functools.partial(self.add, name, inp))
        sub.addSeparator()
        sub.addAction("Custom name…", lambda: self._ask_name(inp))

    def _ask_name(self, inp: InputInfo) -> None:
        name, ok = QInputDialog.getText(self.editor, "Expose as parameter", "Parameter name:", text=inp.input_name)
        if ok and name.strip():
            self.add(name.strip(), inp)

    def add(self, name: str, inp: InputInfo) -> bool:
        try:
            self._change(expose(self.manifest, name, inp))
        except X121Error as exc:
            self.editor.message_posted.emit(exc.sentence)
            return False
        return True

    def remove(self, node_id: str, input_name: str) -> None:
        self._change(unexpose(self.manifest, node_id, input_name))


class ParameterForm(QWidget):
    """The workflow as a form: one field per parameter; edits go into the graph's inputs."""

    def __init__(self, mapping: ParameterMapping, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mapping = mapping
        self.fields: dict[str, QWidget] = {}
        self.form = QFormLayout(self)
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)
        self._refresh.timeout.connect(self.refresh_values)
        mapping.manifest_changed.connect(lambda _m: self.rebuild())
        mapping.editor.scope_changed.connect(lambda _s: self._refresh.start())
        self._unsubscribe = mapping.editor.session.subscribe(self._graph_edited)
        self.rebuild()

    def _graph_edited(self, _event: object) -> None:
        """The graph changed (undo, an edit on the canvas): show its values, after the edit settles."""
        with contextlib.suppress(RuntimeError):  # the form was deleted before the editor
            self._refresh.start()

    def refresh_values(self) -> None:
        try:
            fields = form_fields(self.mapping.manifest)
            prompt = self.mapping.service.api_prompt(self.mapping.editor.document) if fields else {}
        except X121Error:
            return
        for f in fields:
            widget = self.fields.get(f.name)
            if widget is None or widget.hasFocus():
                continue
            value = self._current(f, prompt)
            blocked = widget.blockSignals(True)
            if isinstance(widget, QSpinBox):
                widget.setValue(int(value or 0))
            elif isinstance(widget, QDoubleSpinBox):
                widget.setValue(float(value or 0.0))
            elif isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QComboBox):
                widget.setCurrentText(str(value))
            elif isinstance(widget, QLineEdit):
                widget.setText("" if value is None else str(value))
            widget.blockSignals(blocked)

    def rebuild(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields.clear()
        try:
            fields = form_fields(self.mapping.manifest)
        except X121Error as exc:
            self.form.addRow(QLabel(exc.sentence))
            return
        if not fields:
            self.form.addRow(QLabel("No parameters yet: right-click a node input and expose it."))
        try:
            prompt = self.mapping.service.api_prompt(self.mapping.editor.document) if fields else {}
        except X121Error:
            prompt = {}
        for f in fields:
            widget = self._field(f, prompt)
            widget.setToolTip(f.description + "\n" + ", ".join(f"#{n}.{i}" for n, i in f.targets))
            self.fields[f.name] = widget
            self.form.addRow(f.name + (" *" if f.required else ""), widget)

    def _current(self, f: FormField, prompt: Mapping[str, Any]) -> Any:
        node, name = f.targets[0]
        inp = self.mapping.input(node, name, prompt) if prompt else None
        return inp.value if inp is not None and inp.value is not None else f.default

    def _field(self, f: FormField, prompt: Mapping[str, Any]) -> QWidget:
        value = self._current(f, prompt)
        kind = f.type.value
        if kind == "int" and (f.maximum is None or f.maximum <= INT32) and (f.minimum is None or f.minimum >= -INT32):
            spin = QSpinBox()
            spin.setRange(int(f.minimum if f.minimum is not None else -INT32), int(f.maximum or INT32))
            spin.setValue(int(value or 0))
            spin.valueChanged.connect(lambda v, ff=f: self.write(ff, int(v)))
            return spin
        if kind == "float":
            dspin = QDoubleSpinBox()
            dspin.setDecimals(3)
            dspin.setRange(f.minimum if f.minimum is not None else -1e9, f.maximum if f.maximum is not None else 1e9)
            dspin.setValue(float(value or 0.0))
            dspin.valueChanged.connect(lambda v, ff=f: self.write(ff, float(v)))
            return dspin
        if kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(lambda v, ff=f: self.write(ff, bool(v)))
            return box
        if kind in ("choice", "model") and f.choices:
            combo = QComboBox()
            combo.addItems([str(c) for c in f.choices])
            combo.setCurrentText(str(value))
            combo.currentTextChanged.connect(lambda v, ff=f: self.write(ff, v))
            return combo
        line = QLineEdit("" if value is None else str(value))
        convert = int if kind == "int" else str
        line.editingFinished.connect(lambda ff=f, w=line, c=convert: self._write_text(ff, w.text(), c))
        return line

    def _write_text(self, f: FormField, text: str, convert: Any) -> None:
        try:
            self.write(f, convert(text))
        except ValueError:
            self.mapping.editor.message_posted.emit(f"{f.name} needs a whole number; {text!r} is not one.")

    def write(self, f: FormField, value: Any) -> None:
        """Set every target input of `f` to `value` (undoable widget edits on the top-level canvas)."""
        editor = self.mapping.editor
        scene, controller = editor.scenes.get(None), editor.controllers.get(None)
        if scene is None or controller is None:
            return
        for node_id, input_name in f.targets:
            item = scene.nodes.get(node_id)
            row = next((r for r in item.rows if r.label == input_name), None) if item is not None else None
            if item is not None and row is not None and row.value != value:
                controller.set_widget(item, row, value)

"""Small keyboard-friendly dialogs of the scene workspace: regenerate a range, create a scene.

Both are non-modal-by-loop: `open()` shows them window-modal and the workspace acts on `submitted`.
The new-scene dialog stays open when the service refuses the request and shows its sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.enums import SeedPolicy, StitchMode
from x121_desktop.core.errors import InvalidInput
from x121_desktop.core.pipeline.chain import ChainLimits
from x121_desktop.core.pipeline.values import parse_duration, parse_frame_rule, parse_span
from x121_desktop.services.scenes import CreateSceneRequest, Downstream

DOWNSTREAM_CHOICES = (
    (Downstream.HEAL, "&Heal this boundary only (re-measure the seam after the range; heal it if red)"),
    (Downstream.RECHAIN, "Re-&chain downstream (regenerate every later segment from the new cut)"),
    (Downstream.OFFER, "&Decide later (mark later segments stale)"),
)


class RegenerateDialog(QDialog):
    submitted = Signal(int, int, object)
    """first, last (0-based), Downstream."""

    def __init__(self, count: int, first: int, last: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RegenerateDialog")
        self.setWindowTitle("Regenerate segments")
        self.first = QSpinBox(self)
        self.last = QSpinBox(self)
        for spin, value in ((self.first, first), (self.last, last)):
            spin.setRange(1, count)
            spin.setValue(value + 1)
        span = QHBoxLayout()
        for text, spin in (("&From segment", self.first), ("&to", self.last)):
            label = QLabel(text, self)
            label.setBuddy(spin)
            span.addWidget(label)
            span.addWidget(spin)
        span.addStretch(1)
        self.group = QButtonGroup(self)
        self.buttons: dict[Downstream, QRadioButton] = {}
        layout = QVBoxLayout(self)
        layout.addLayout(span)
        layout.addWidget(QLabel("After the range:", self))
        for n, (mode, text) in enumerate(DOWNSTREAM_CHOICES):
            radio = QRadioButton(text, self)
            self.group.addButton(radio, n)
            self.buttons[mode] = radio
            layout.addWidget(radio)
        self.buttons[Downstream.HEAL].setChecked(True)
        self.error = QLabel("", self)
        self.error.setObjectName("DialogError")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        box.button(QDialogButtonBox.StandardButton.Ok).setText("Regenerate")
        box.accepted.connect(self._submit)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        self.first.setFocus()

    def downstream(self) -> Downstream:
        return next(mode for mode, radio in self.buttons.items() if radio.isChecked())

    def choose(self, downstream: Downstream) -> None:
        self.buttons[downstream].setChecked(True)

    def _submit(self) -> None:
        first, last = self.first.value(), self.last.value()
        if last < first:
            self.error.setText(f"The range {first}-{last} runs backwards. Give a last segment no smaller than {first}.")
            return
        self.submitted.emit(first - 1, last - 1, self.downstream())
        self.accept()


def parse_params(text: str) -> dict[str, object]:
    """`width=256 height=144, steps=20` → typed values (int, float, true/false, else text)."""
    out: dict[str, object] = {}
    for pair in text.replace(",", " ").split():
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{pair!r} is not a parameter", "Write parameters as KEY=VALUE, e.g. width=256")
        value: object = raw
        for cast in (int, float):
            try:
                value = cast(raw)
                break
            except ValueError:
                continue
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        out[key] = value
    return out


class NewSceneDialog(QDialog):
    submitted = Signal(object)
    """A CreateSceneRequest."""

    def __init__(
        self,
        characters: Sequence[tuple[str, str]],
        workflows: Sequence[tuple[str, int]],
        rates: dict[tuple[str, str], Fraction],
        parent: QWidget | None = None,
    ) -> None:
        """`characters`: (character, project); `workflows`: (name, latest version); `rates`: project fps by
        (character, project)."""
        super().__init__(parent)
        self.setObjectName("NewSceneDialog")
        self.setWindowTitle("New scene")
        self.setMinimumWidth(560)
        self.rates = rates
        self.character = QComboBox(self)
        for name, project in characters:
            self.character.addItem(f"{name}  ({project})", (name, project))
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("intro")
        self.duration = QLineEdit("4-6", self)
        self.duration.setToolTip("MIN-MAX seconds (4-6, 2.5-4) or frames (41-45f)")
        self.workflow = QComboBox(self)
        for name, latest in workflows:
            self.workflow.addItem(f"{name}  (latest v{latest})", name)
        self.version = QSpinBox(self)
        self.version.setRange(0, 9999)
        self.version.setSpecialValueText("latest")
        self.prompt = QLineEdit(self)
        self.negative = QLineEdit(self)
        self.policy = QComboBox(self)
        for policy in SeedPolicy:
            self.policy.addItem(policy.label, policy)
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 2**31 - 1)
        self.likeness = QDoubleSpinBox(self)
        self.likeness.setRange(-1.0, 4.0)
        self.likeness.setSingleStep(0.05)
        self.likeness.setValue(0.35)
        self.mode = QComboBox(self)
        for mode in StitchMode:
            self.mode.addItem(mode.label, mode)
        self.params = QLineEdit(self)
        self.params.setPlaceholderText("width=256 height=144")
        self.segment_frames = QLineEdit(self)
        self.segment_frames.setPlaceholderText("the workflow's (e.g. 9-17)")
        self.frame_rule = QLineEdit(self)
        self.frame_rule.setPlaceholderText("any (e.g. 4n+1)")
        form = QFormLayout()
        rows: list[tuple[str, QWidget]] = [
            ("&Character", self.character), ("&Name", self.name), ("&Duration", self.duration),
            ("&Workflow", self.workflow), ("&Version", self.version), ("&Prompt", self.prompt),
            ("Ne&gative prompt", self.negative), ("&Seed policy", self.policy), ("S&eed", self.seed),
            ("&Likeness weight", self.likeness), ("Stitch &mode", self.mode), ("P&arameters", self.params),
            ("Segment &frames", self.segment_frames), ("Frame r&ule", self.frame_rule),
        ]  # fmt: skip
        for label, widget in rows:
            form.addRow(label, widget)
        self.error = QLabel("", self)
        self.error.setObjectName("DialogError")
        self.error.setWordWrap(True)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        box.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        box.accepted.connect(self._submit)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(box)
        self.name.setFocus()

    def request(self) -> CreateSceneRequest:
        """The request the fields describe; InvalidInput (with its sentence) for what cannot be read."""
        chosen = self.character.currentData()
        if not isinstance(chosen, tuple):
            raise InvalidInput("No character is chosen", "Add a character first (x121 character add)")
        character, project = chosen
        workflow = self.workflow.currentData()
        if not isinstance(workflow, str):
            raise InvalidInput("No workflow is chosen", "Import a workflow first (x121 workflow import)")
        rate = self.rates.get((character, project), Fraction(24))
        return CreateSceneRequest(
            character=character, name=self.name.text(), workflow=workflow,
            duration=parse_duration(self.duration.text(), rate),
            workflow_version=self.version.value() or None, prompt=self.prompt.text(),
            negative_prompt=self.negative.text(), seed_policy=self.policy.currentData(),
            base_seed=self.seed.value(), likeness_weight=self.likeness.value(), mode=self.mode.currentData(),
            params=parse_params(self.params.text()), limits=self.limits(), project=project,
        )  # fmt: skip

    def limits(self) -> ChainLimits | None:
        """Segment length limits as `x121 scene create --segment-frames/--frame-rule` take them."""
        frames, rule = self.segment_frames.text().strip(), self.frame_rule.text().strip()
        if not frames and not rule:
            return None
        if not frames:
            raise InvalidInput("A frame rule needs segment frames", "Give both, e.g. segment frames 9-17, rule 4n+1")
        span, counts = parse_span(frames, "segment length"), parse_frame_rule(rule or "n")
        return ChainLimits(span.min_frames, span.max_frames, counts.step, counts.offset)

    def show_error(self, sentence: str) -> None:
        self.error.setText(sentence)

    def _submit(self) -> None:
        try:
            request = self.request()
        except InvalidInput as exc:
            self.show_error(exc.sentence)
            return
        self.error.setText("Creating…")
        self.submitted.emit(request)

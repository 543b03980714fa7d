"""New character…: a name, a project, a Seed A and/or a Seed B, and which workflow makes the missing one.

The starting mode follows from the seeds given, as `x121 character add` decides it: both → Manual,
Seed A only → Forward (Seed B is generated from it), Seed B only → Reverse. The line under the
seeds says which, and with what workflow (the project's seed workflow, or the one chosen here).
Image files are picked with a non-modal file dialog or typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from x121_desktop.core.enums import CharacterMode, SeedKind
from x121_desktop.core.errors import InvalidInput
from x121_desktop.services.characters import AddCharacterRequest
from x121_desktop.services.seed_workflows import DEFAULT_SEED_WORKFLOW, SeedWorkflowSettings

IMAGES = "Images (*.png *.jpg *.jpeg *.webp)"
DEFAULT_PROJECT = "Default"


class ImageField(QWidget):
    """A path line edit with a "…" button opening a file dialog (non-modal)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.line = QLineEdit(self)
        self.line.setPlaceholderText("none")
        self.line.setClearButtonEnabled(True)
        self.browse = QToolButton(self)
        self.browse.setText("…")
        self.browse.setToolTip(f"Choose the {title} image")
        self.browse.clicked.connect(self.choose)
        self.chooser: QFileDialog | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.line, 1)
        row.addWidget(self.browse)

    def choose(self) -> None:
        chooser = QFileDialog(self, f"Choose the {self.title}", self.line.text() or str(Path.home()), IMAGES)
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.fileSelected.connect(self.line.setText)
        chooser.finished.connect(chooser.deleteLater)
        self.chooser = chooser
        chooser.open()

    def path(self) -> Path | None:
        text = self.line.text().strip()
        return Path(text).expanduser() if text else None


class NewCharacterDialog(QDialog):
    submitted = Signal(object)
    """An AddCharacterRequest."""

    def __init__(
        self,
        projects: Sequence[str],
        workflows: Sequence[str],
        seed_workflows: Mapping[str, SeedWorkflowSettings],
        parent: QWidget | None = None,
    ) -> None:
        """`projects`: names to offer (a new name creates one); `workflows`: imported workflow names;
        `seed_workflows`: each project's seed workflow per kind."""
        super().__init__(parent)
        self.setObjectName("NewCharacterDialog")
        self.setWindowTitle("New character")
        self.setMinimumWidth(560)
        self.seed_workflows = seed_workflows
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("Ada")
        self.project = QComboBox(self)
        self.project.setEditable(True)
        self.project.addItems(list(projects) or [DEFAULT_PROJECT])
        self.seed_a = ImageField("Seed A (portrait)", self)
        self.seed_b = ImageField("Seed B (foundation / style)", self)
        self.workflow = QComboBox(self)
        self.workflow.addItem("the project's seed workflow", None)
        for name in workflows:
            self.workflow.addItem(name, name)
        self.mode = QLabel("", self)
        self.mode.setObjectName("NewCharacterMode")
        self.mode.setWordWrap(True)
        self.mode.setProperty("role", "muted")
        form = QFormLayout()
        rows: list[tuple[str, QWidget]] = [
            ("&Name", self.name), ("&Project", self.project), ("Seed &A", self.seed_a), ("Seed &B", self.seed_b),
            ("Seed &workflow", self.workflow),
        ]  # fmt: skip
        for label, widget in rows:
            form.addRow(label, widget)
        self.error = QLabel("", self)
        self.error.setObjectName("DialogError")
        self.error.setWordWrap(True)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.create_button = box.button(QDialogButtonBox.StandardButton.Ok)
        self.create_button.setText("Create")
        box.accepted.connect(self._submit)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.mode)
        layout.addWidget(self.error)
        layout.addWidget(box)
        for line in (self.seed_a.line, self.seed_b.line):
            line.textChanged.connect(self._describe)
        self.project.currentTextChanged.connect(self._describe)
        self.workflow.currentIndexChanged.connect(self._describe)
        self._describe()
        self.name.setFocus()

    def starting_mode(self) -> CharacterMode | None:
        a, b = self.seed_a.path() is not None, self.seed_b.path() is not None
        if a and b:
            return CharacterMode.MANUAL
        return CharacterMode.FORWARD if a else CharacterMode.REVERSE if b else None

    def seed_workflow_for(self, kind: SeedKind) -> str:
        """The workflow that will make `kind`: the one chosen here, else the project's (or the default)."""
        chosen = self.workflow.currentData()
        if isinstance(chosen, str):
            return repr(chosen)
        settings = self.seed_workflows.get(self.project.currentText().strip())
        for choice in settings.choices if settings is not None else ():
            if choice.kind is kind:
                return choice.said
        return f"{DEFAULT_SEED_WORKFLOW!r} (the default)"

    def _describe(self) -> None:
        mode = self.starting_mode()
        self.workflow.setEnabled(mode in (CharacterMode.FORWARD, CharacterMode.REVERSE))
        if mode is None:
            text = "Give a Seed A (portrait), a Seed B (foundation / style), or both."
        elif mode is CharacterMode.MANUAL:
            text = "Manual mode: both seeds are given; nothing is generated."
        else:
            made = SeedKind.B if mode is CharacterMode.FORWARD else SeedKind.A
            source = SeedKind.A if made is SeedKind.B else SeedKind.B
            text = (
                f"{mode.name.title()} mode: Seed {made.name} will be generated from Seed {source.name} "
                f"with {self.seed_workflow_for(made)}, on the job queue."
            )
        self.mode.setText(text)

    def request(self) -> AddCharacterRequest:
        """The request the fields describe; InvalidInput (with its sentence) for what cannot be used."""
        if not self.name.text().strip():
            raise InvalidInput("The character has no name", "Type a name")
        chosen = self.workflow.currentData()
        generates = self.starting_mode() in (CharacterMode.FORWARD, CharacterMode.REVERSE)
        return AddCharacterRequest(
            name=self.name.text(),
            seed_a=self.seed_a.path(),
            seed_b=self.seed_b.path(),
            project=self.project.currentText().strip() or DEFAULT_PROJECT,
            seed_workflow=chosen if isinstance(chosen, str) and generates else None,
        )

    def show_error(self, sentence: str) -> None:
        self.error.setText(sentence)
        self.create_button.setEnabled(True)

    def _submit(self) -> None:
        try:
            request = self.request()
        except InvalidInput as exc:
            self.show_error(exc.sentence)
            return
        self.error.setText("Checking the seeds and creating the character…")
        self.create_button.setEnabled(False)  # one request at a time: the checks take a few seconds
        self.submitted.emit(request)

"""The selected job's details: summary, failure (node + exception), event log and output files.

Shows a `JobDetails` value only (no service calls): the Jobs panel reads it and calls `show_details`.
Links to the job a retry came from, or the retries made of it, emit `job_link_activated(job id)`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLabel, QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from x121_desktop.services.job_board import JobDetails
from x121_desktop.ui.panels.jobs_model import cell_text, time_text
from x121_desktop.ui.theme_qt import current_theme, qcolor

EMPTY = "Select a job to see its events and outputs."
FAILED_TOKEN = "status.failed.fg"


def failed_color() -> QColor:
    """The theme's colour for failed work (a plain red where no theme is applied, as in tests)."""
    app = QApplication.instance()
    theme = current_theme(app) if isinstance(app, QApplication) else None
    if theme is not None and FAILED_TOKEN in theme.colors:
        return qcolor(theme.color(FAILED_TOKEN))
    return QColor("#e06c60")


class JobDetailsView(QWidget):
    job_link_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("JobDetails")
        self.details: JobDetails | None = None
        self.summary = QLabel(EMPTY, self)
        self.summary.setObjectName("JobSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.summary.linkActivated.connect(self._link)
        self.failure = QLabel(self)
        self.failure.setObjectName("JobFailure")
        self.failure.setWordWrap(True)
        self.failure.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.failure.setStyleSheet(f"QLabel#JobFailure {{ color: {failed_color().name()}; font-weight: bold; }}")
        self.failure.hide()
        self.events = QTreeWidget(self)
        self.events.setObjectName("JobEvents")
        self.events.setHeaderLabels(["Time", "Try", "Event"])
        self.events.setRootIsDecorated(False)
        self.events.setAlternatingRowColors(True)
        self.outputs = QTreeWidget(self)
        self.outputs.setObjectName("JobOutputs")
        self.outputs.setHeaderLabels(["Node", "Kind", "File", "sha256"])
        self.outputs.setRootIsDecorated(False)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.events)
        split.addWidget(self.outputs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.failure)
        layout.addWidget(split, 1)

    def clear(self) -> None:
        self.details = None
        self.summary.setText(EMPTY)
        self.failure.hide()
        self.events.clear()
        self.outputs.clear()

    def show_details(self, details: JobDetails) -> None:
        self.details = details
        row = details.row
        parts = [
            f"<b>Job #{row.id}</b> · {row.kind.label} · {cell_text(row, 'workflow')} · {row.owner}",
            f"{cell_text(row, 'state')} · priority {row.priority} · {time_text(row)}",
        ]
        if row.server:
            parts[-1] += f" · on {row.server}"
        if row.gpu_seconds is not None:
            parts[-1] += f" · {row.gpu_seconds:.2f} GPU-s"
        links = []
        if row.retry_of is not None:
            links.append(f'retry of <a href="job:{row.retry_of}">job #{row.retry_of}</a>')
        links += [f'retried as <a href="job:{j}">job #{j}</a>' for j in details.retried_as]
        if links:
            parts.append("; ".join(links))
        self.summary.setText("<br>".join(parts))
        failures = [e for e in details.events if e.failure]
        if failures or row.error:
            self.failure.setText(failures[-1].text if failures else str(row.error))
            self.failure.show()
        else:
            self.failure.hide()
        self.events.clear()
        for event in details.events:
            item = QTreeWidgetItem(
                [event.at.strftime("%H:%M:%S"), "" if event.attempt_no is None else str(event.attempt_no), event.text]
            )
            item.setToolTip(2, event.text)
            if event.failure:
                for column in range(3):
                    item.setForeground(column, failed_color())
            self.events.addTopLevelItem(item)
        self.events.resizeColumnToContents(0)
        self.events.resizeColumnToContents(1)
        self.outputs.clear()
        for out in details.outputs:
            item = QTreeWidgetItem([out.node_id, out.kind, str(out.path), out.sha256[:12]])
            item.setToolTip(2, str(out.path))
            item.setToolTip(3, out.sha256)
            self.outputs.addTopLevelItem(item)

    def event_texts(self) -> list[str]:
        items = (self.events.topLevelItem(i) for i in range(self.events.topLevelItemCount()))
        return [item.text(2) for item in items if item is not None]

    def _link(self, href: str) -> None:
        if href.startswith("job:") and href[4:].isdigit():
            self.job_link_activated.emit(int(href[4:]))

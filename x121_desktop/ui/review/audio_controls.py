"""The transport's sound controls: mute button (♪ and the volume), volume slider, and a note line that
says in one sentence why there is no sound (no output device)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSlider, QToolButton, QWidget

from x121_desktop.ui.review.playback_audio import PlaybackAudio


class AudioControls:
    """Widgets for the panel to place: `button` (mute), `slider` (volume 0-100 %), `note` (a line of its own)."""

    def __init__(self, sound: PlaybackAudio, parent: QWidget) -> None:
        self.sound = sound
        self.button = QToolButton(parent)
        self.button.setObjectName("audioButton")
        self.button.setCheckable(True)
        self.button.setAccessibleName("Mute playback sound")
        self.button.setToolTip(
            "Sound of the audible cell (♪ on its label; Alt+A picks the next cell): click to mute, "
            "Ctrl+Up / Ctrl+Down for the volume"
        )
        self.slider = QSlider(Qt.Orientation.Horizontal, parent)
        self.slider.setObjectName("audioVolume")
        self.slider.setRange(0, 100)
        self.slider.setSingleStep(10)
        self.slider.setFixedWidth(80)
        self.slider.setAccessibleName("Playback volume")
        self.note = QLabel(parent)
        self.note.setObjectName("audioNote")
        self.note.setWordWrap(True)
        self.note.hide()
        self.button.clicked.connect(lambda _checked=False: sound.toggle_mute())
        self.slider.valueChanged.connect(lambda value: sound.set_volume(value / 100))
        sound.changed.connect(self._show)
        sound.message.connect(self._say)
        self._show()

    def _show(self) -> None:
        sound = self.sound
        self.button.setChecked(sound.muted)
        self.button.setText("♪ muted" if sound.muted else f"♪ {round(sound.volume * 100)} %")
        self.slider.blockSignals(True)
        self.slider.setValue(round(sound.volume * 100))
        self.slider.blockSignals(False)

    def _say(self, sentence: str) -> None:
        self.note.setText(sentence)
        self.note.setVisible(bool(sentence))

"""services.review_audio.AudioFeed: a real clip's audio decoded ahead on a thread, chunk after chunk,
equal to the samples written into the file; wrapping inside a looping range; ending a plain one;
a new play dropping the old generation; clips without audio are silent, not an error."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.core.media.test_audio import make_clip, pcm_stereo
from tests.media_factory import make_video
from x121_desktop.core.media.audio import AudioFormat
from x121_desktop.core.media.audio_sync import SampleSpan
from x121_desktop.services.review_audio import AudioChunk, AudioFeed

RATE = Fraction(24)
FORMAT = AudioFormat(48000, 2, "s16")


@pytest.fixture(scope="module")
def sound(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, npt.NDArray[np.int16]]:
    written = pcm_stereo(2.0, RATE)
    return make_clip(tmp_path_factory.mktemp("feed") / "tone.mov", RATE, written, 48000, "pcm_s16le"), written


def chunks(feed: AudioFeed, samples: int, timeout: float = 10.0) -> list[AudioChunk]:
    got: list[AudioChunk] = []
    end = time.monotonic() + timeout
    while sum(len(c) for c in got) < samples and time.monotonic() < end:
        chunk = feed.take()
        if chunk is None:
            time.sleep(0.002)
        else:
            got.append(chunk)
    return got


def test_the_feed_decodes_consecutive_chunks_equal_to_the_file(sound: tuple[Path, npt.NDArray[np.int16]]) -> None:
    path, written = sound
    ready = threading.Event()
    feed = AudioFeed(FORMAT, chunk=1000, ahead=5000, on_ready=ready.set)
    try:
        generation = feed.play(path, 12345, SampleSpan(0, len(written), False))
        assert ready.wait(10)
        got = chunks(feed, 12000)
        assert [c.first for c in got[:3]] == [12345, 13345, 14345]
        assert all(c.generation == generation for c in got)
        decoded = np.concatenate([c.samples for c in got])
        np.testing.assert_array_equal(decoded, written[12345 : 12345 + len(got) * 1000])
    finally:
        feed.close()


def test_a_looping_range_wraps_and_a_plain_one_ends(sound: tuple[Path, npt.NDArray[np.int16]]) -> None:
    path, written = sound
    feed = AudioFeed(FORMAT, chunk=700, ahead=3000)
    try:
        feed.play(path, 9500, SampleSpan(8000, 10000, True))
        got = chunks(feed, 4500)
        firsts = [c.first for c in got[:5]]
        assert firsts == [9500, 8000, 8700, 9400, 8000]  # 500 to the out point, then from the in point
        assert [len(c) for c in got[:5]] == [500, 700, 700, 600, 700]
        for c in got:
            np.testing.assert_array_equal(c.samples, written[c.first : c.first + len(c)])
        feed.play(path, 9500, SampleSpan(8000, 10000, False))
        got = chunks(feed, 10_000, timeout=1.0)
        assert [(c.first, len(c)) for c in got] == [(9500, 500)]  # the end of the range: nothing more
    finally:
        feed.close()


def test_a_new_play_drops_what_the_old_one_decoded(sound: tuple[Path, npt.NDArray[np.int16]]) -> None:
    path, _ = sound
    feed = AudioFeed(FORMAT, chunk=1000, ahead=4000)
    try:
        feed.play(path, 0, SampleSpan(0, 90000, True))
        assert chunks(feed, 1000)
        second = feed.play(path, 50000, SampleSpan(0, 90000, True))
        got = chunks(feed, 3000)
        assert got[0].first == 50000
        assert {c.generation for c in got} == {second}
        feed.stop()
        assert feed.take() is None
    finally:
        feed.close()


def test_a_clip_without_audio_is_silent_not_an_error(tmp_path: Path) -> None:
    path = make_video(tmp_path / "mute.mp4", 12, rate=24, size=(64, 48))
    ready = threading.Event()
    feed = AudioFeed(FORMAT, on_ready=ready.set)
    try:
        feed.play(path, 0, SampleSpan(0, 24000, True))
        assert ready.wait(10)
        assert feed.silent(path)
        assert feed.error is None
        assert feed.take() is None
    finally:
        feed.close()


def test_a_file_that_cannot_be_read_sets_a_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mov"
    bad.write_bytes(b"\x00\x00\x00\x18ftypqt  " + bytes(range(256)) * 64)
    ready = threading.Event()
    feed = AudioFeed(FORMAT, on_ready=ready.set)
    try:
        feed.play(bad, 0, SampleSpan(0, 24000, True))
        assert ready.wait(10)
        assert feed.error is not None
        assert "broken.mov" in feed.error
        assert not feed.silent(bad)
        assert feed.take() is None
    finally:
        feed.close()

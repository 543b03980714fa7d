"""core.media.audio: the samples of a frame window, checked against what was written and against an
independent decode of real files made here with PyAV (a known tone per video frame)."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from x121_desktop.core.errors import MediaError, NotFound
from x121_desktop.core.media.audio import (
    AudioFormat,
    AudioReader,
    AudioWindow,
    NoAudioTrack,
    frame_samples,
    read_audio_frames,
    sample_of_frame,
    scrub_grain,
)

S16 = npt.NDArray[np.int16]
NTSC = Fraction(30000, 1001)


def frame_of_sample(k: npt.NDArray[np.int64], rate: Fraction, sr: int) -> npt.NDArray[np.int64]:
    """The video frame sample k plays under: the largest f with f / rate <= k / sr."""
    return (k * rate.numerator) // (sr * rate.denominator)


def tone(seconds: float, sr: int, rate: Fraction) -> npt.NDArray[np.float64]:
    """A sine whose pitch changes on every video frame: 300 Hz + 100 Hz x (frame % 12), phase-continuous."""
    k = np.arange(int(seconds * sr), dtype=np.int64)
    freq = 300.0 + 100.0 * (frame_of_sample(k, rate, sr) % 12)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr)


def expected_freq(frame: int) -> float:
    return 300.0 + 100.0 * (frame % 12)


def make_clip(
    path: Path, rate: Fraction, samples: npt.NDArray[Any], sr: int, codec: str, options: dict[str, str] | None = None
) -> Path:
    """A small H.264 clip at `rate` whose audio is `samples` ((n, channels): int16 → s16, float32 → fltp)."""
    count, channels = samples.shape
    layout = "stereo" if channels == 2 else "mono"
    fmt = "s16" if samples.dtype == np.int16 else "fltp"
    with av.open(str(path), "w") as out:
        video: Any = out.add_stream("libx264", rate=rate, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio: Any = out.add_stream(codec, rate=sr, layout=layout, options=options or {})
        for i in range(int(count * rate / sr)):
            img = np.full((32, 32, 3), (i * 7) % 256, np.uint8)
            out.mux(video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(video.encode())
        for start in range(0, count, 1024):
            chunk = samples[start : start + 1024]
            data = chunk.reshape(1, -1) if fmt == "s16" else chunk.T
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout=layout)
            frame.sample_rate, frame.pts = sr, start
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return path


def pcm_stereo(seconds: float, rate: Fraction) -> S16:
    """(n, 2) int16: the tone on the left, the same tone at half level and inverted on the right."""
    t = tone(seconds, 48000, rate)
    left = np.rint(t * 12000).astype(np.int16)
    right = np.rint(t * -6000).astype(np.int16)
    return np.stack([left, right], axis=1)


def whole_decode(path: Path, fmt: AudioFormat) -> npt.NDArray[Any]:
    """The reference: every audio frame decoded in order and resampled in one go (no seeking)."""
    layout = "stereo" if fmt.channels == 2 else "mono"
    resampler = av.AudioResampler(fmt.sample_format, layout, fmt.sample_rate)
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            out += resampler.resample(frame)
    out += resampler.resample(None)
    return np.concatenate([f.to_ndarray().reshape(-1, fmt.channels) for f in out])


def padded(ref: npt.NDArray[Any], first: int, stop: int) -> npt.NDArray[Any]:
    """ref[first:stop] with zeros where it has no samples (before 0, after its end)."""
    out = np.zeros((stop - first, ref.shape[1]), ref.dtype)
    a, b = max(first, 0), min(stop, len(ref))
    if a < b:
        out[a - first : b - first] = ref[a:b]
    return out


def dominant_hz(window: AudioWindow) -> float:
    mono = window.samples[:, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono)), n=1 << 15))
    return float(np.argmax(spectrum) * window.format.sample_rate / (1 << 15))


# ------------------------------------------------------------------ sample arithmetic
def test_frame_windows_tile_the_samples_exactly() -> None:
    assert frame_samples(0, 1, Fraction(24), 48000) == (0, 2000)
    assert frame_samples(10, 3, Fraction(25), 44100) == (17640, 22932)
    lengths = {frame_samples(f, 1, NTSC, 48000)[1] - frame_samples(f, 1, NTSC, 48000)[0] for f in range(1000)}
    assert lengths == {1601, 1602}
    assert sample_of_frame(30000, NTSC, 48000) == 48_048_000  # 1001 s exactly, no drift


@given(
    num=st.integers(1, 120_000),
    den=st.integers(1, 1001),
    sr=st.sampled_from([8000, 22050, 44100, 48000, 96000]),
    frame=st.integers(-10_000, 10**7),
)
def test_first_sample_is_the_first_at_or_after_the_frame_start(num: int, den: int, sr: int, frame: int) -> None:
    rate = Fraction(num, den)
    k = sample_of_frame(frame, rate, sr)
    assert Fraction(k, sr) >= frame / rate > Fraction(k - 1, sr)
    first, stop = frame_samples(frame, 2, rate, sr)
    assert (first, stop) == (k, sample_of_frame(frame + 2, rate, sr))


# ------------------------------------------------------------------ PCM: exact against what was written
@pytest.mark.parametrize(("suffix", "seekable"), [(".mov", True), (".mkv", False)])
@pytest.mark.parametrize("rate", [Fraction(24), NTSC])
def test_pcm_frame_windows_are_the_written_samples(tmp_path: Path, suffix: str, seekable: bool, rate: Fraction) -> None:
    """MOV places each sample by timestamp (seek path); Matroska's 1 ms timestamps cannot (decode-forward path)."""
    written = pcm_stereo(3.0, rate)
    path = make_clip(tmp_path / f"pcm{suffix}", rate, written, 48000, "pcm_s16le")
    last = int(3.0 * rate) - 1
    windows = [(0, 1), (1, 1), (40, 1), (39, 1), (12, 5), (70, 2), (3, 1), (last, 1), (last - 2, 6), (-3, 5), (5, 0)]
    with AudioReader(path, AudioFormat(48000, 2, "s16")) as reader:
        assert reader.seekable is seekable
        for start, count in windows:
            window = reader.frames(start, count, rate)
            first, stop = frame_samples(start, count, rate, 48000)
            assert (window.first_sample, len(window)) == (first, stop - first)
            np.testing.assert_array_equal(window.samples, padded(written, first, stop), err_msg=f"{start}+{count}")
            if count == 1 and 0 <= start <= last:
                assert abs(dominant_hz(window) - expected_freq(start)) < 10, start  # that frame's tone


# ------------------------------------------------------------------ AAC: exact against an independent decode
@pytest.fixture(scope="module")
def aac_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AAC-LC mono 44.1 kHz under 30000/1001 fps video; noise substitution off so a decode is deterministic."""
    signal = (0.4 * tone(4.0, 44100, NTSC)).astype(np.float32).reshape(-1, 1)
    path = tmp_path_factory.mktemp("audio") / "tone.mp4"
    return make_clip(path, NTSC, signal, 44100, "aac", {"aac_pns": "0"})


def test_aac_frame_windows_match_a_whole_decode_resampled_in_one_go(aac_clip: Path) -> None:
    fmt = AudioFormat(48000, 2, "s16")
    reference = whole_decode(aac_clip, fmt)
    rng = random.Random(9)
    frames = int(4.0 * NTSC)
    moves = [(f, 1) for f in (0, 1, 2, 1, 0, 60, 59, 61, frames - 1)]
    moves += [(rng.randrange(-2, frames + 3), rng.randrange(1, 7)) for _ in range(40)]
    with AudioReader(aac_clip, fmt) as reader:  # one reader: buffer reuse, forward decode, seeks back
        for start, count in moves:
            window = reader.frames(start, count, NTSC)
            first, stop = frame_samples(start, count, NTSC, 48000)
            np.testing.assert_array_equal(window.samples, padded(reference, first, stop), err_msg=f"{start}+{count}")
    for start, count in moves[-8:]:  # fresh readers: every window starts with a seek
        window = read_audio_frames(aac_clip, start, count, NTSC, fmt)
        first, stop = frame_samples(start, count, NTSC, 48000)
        np.testing.assert_array_equal(window.samples, padded(reference, first, stop))


def test_aac_in_matroska_decodes_forward_and_matches_a_whole_decode(tmp_path: Path) -> None:
    """Matroska's 1 ms timestamps cannot place a sample: the reader decodes forward (from a fresh
    open of the file when it has to go back) and still gives the whole decode's samples. 30 s: a
    file this long refused the seek to a negative time the first version used to get back to 0."""
    signal = (0.4 * tone(30.0, 48000, Fraction(25))).astype(np.float32).reshape(-1, 1)
    path = make_clip(tmp_path / "tone.mkv", Fraction(25), signal, 48000, "aac", {"aac_pns": "0"})
    fmt = AudioFormat(48000, 2, "s16")
    reference = whole_decode(path, fmt)
    with AudioReader(path, fmt) as reader:
        assert not reader.seekable
        for start in (40, 41, 39, 12, 700, 0, 749):
            first, stop = frame_samples(start, 1, Fraction(25), 48000)
            window = reader.frames(start, 1, Fraction(25))
            np.testing.assert_array_equal(window.samples, padded(reference, first, stop), err_msg=str(start))


def test_each_frame_window_of_the_aac_clip_holds_that_frames_tone(aac_clip: Path) -> None:
    with AudioReader(aac_clip) as reader:
        heard = [dominant_hz(reader.frames(f, 1, NTSC)) for f in range(2, 100, 7)]
    assert all(abs(hz - expected_freq(f)) < 16 for hz, f in zip(heard, range(2, 100, 7), strict=True)), heard


def test_aac_with_noise_substitution_keeps_positions_exact_within_codec_noise(tmp_path: Path) -> None:
    """FFmpeg's AAC decoder keeps a random state for noise substitution, so after a seek the values
    differ from a continuous decode by codec noise; the sample positions must still be exact."""
    signal = (0.4 * tone(3.0, 48000, Fraction(24))).astype(np.float32).reshape(-1, 1)
    path = make_clip(tmp_path / "pns.mp4", Fraction(24), signal, 48000, "aac")
    fmt = AudioFormat(48000, 1, "s16")
    reference = whole_decode(path, fmt).astype(np.int64)
    for start in (11, 37, 52):
        got = read_audio_frames(path, start, 2, Fraction(24), fmt).samples.astype(np.int64)
        first, stop = frame_samples(start, 2, Fraction(24), 48000)
        aligned = np.abs(got - reference[first:stop]).max()
        shifted = np.abs(got - reference[first + 1 : stop + 1]).max()
        assert aligned <= 64 < shifted // 4, (start, aligned, shifted)


def test_float_mono_output_matches_the_reference_resample(tmp_path: Path) -> None:
    written = pcm_stereo(2.0, Fraction(25))
    path = make_clip(tmp_path / "pcm.mov", Fraction(25), written, 48000, "pcm_s16le")
    fmt = AudioFormat(22050, 1, "flt")
    reference = whole_decode(path, fmt)
    with AudioReader(path, fmt) as reader:
        for start in (0, 13, 7, 49):
            window = reader.frames(start, 1, Fraction(25))
            assert window.samples.dtype == np.float32
            first, stop = frame_samples(start, 1, Fraction(25), 22050)
            np.testing.assert_array_equal(window.samples, padded(reference, first, stop))
            assert len(window.to_bytes()) == len(window) * fmt.bytes_per_sample


# ------------------------------------------------------------------ the empty result and bad input
def test_a_clip_without_audio_raises_no_audio_track(tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as out:
        video: Any = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        for _ in range(4):
            out.mux(video.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")))
        out.mux(video.encode())
    with pytest.raises(NoAudioTrack) as caught:
        AudioReader(path)
    assert isinstance(caught.value, MediaError)
    assert caught.value.sentence.startswith("silent.mp4 has no audio track. ")
    with pytest.raises(NotFound):
        AudioReader(tmp_path / "missing.mp4")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 16)
    with pytest.raises(MediaError, match="cannot be read"):
        AudioReader(garbage)


# ------------------------------------------------------------------ grains
def test_scrub_grain_reverses_squeezes_and_fades() -> None:
    fmt = AudioFormat(48000, 2, "s16")
    ramp = np.stack([np.arange(0, 4000, 2), -np.arange(0, 4000, 2)], axis=1).astype(np.int16)
    window = AudioWindow(fmt, 100, ramp)
    np.testing.assert_array_equal(scrub_grain(window).samples, ramp)
    np.testing.assert_array_equal(scrub_grain(window, reverse=True).samples, ramp[::-1])
    squeezed = scrub_grain(window, length=500).samples  # 4x faster: every 4th sample of a straight line
    assert squeezed.shape == (500, 2)
    assert (squeezed[0, 0], squeezed[-1, 0]) == (0, 3998)
    assert np.all(np.abs(np.diff(squeezed[:, 0].astype(int)) - 8) <= 1)
    faded = scrub_grain(AudioWindow(fmt, 0, np.full((1000, 2), 10000, np.int16)), fade=99).samples
    assert [faded[i, 0] for i in (0, 49, 500, -1)] == [100, 5000, 10000, 100]

"""Transcribe a recording to notes with basic-pitch (Bittner et al., ICASSP 2022), offline, on the CPU.

basic-pitch ships its network as ONNX (``nmp.onnx``, run with onnxruntime), so it is installed with
``pip install --no-deps basic-pitch==0.4.0`` plus the few packages it imports (librosa, mir_eval, resampy,
onnxruntime; pinned in requirements.txt), never TensorFlow. The transcription comes back as a MIDI file read
through :func:`xai.io.load_bytes`, the same path as an upload, so every symbolic view can use it; its
title and file name say ``(transcribed)`` so it is never mistaken for a score.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from dataclasses import dataclass

from . import io as xio
from .audio import Clip, to_wav_bytes
from .errors import InputError, ParameterError
from .music import Piece

__all__ = ["TranscribeOptions", "transcribe", "available"]


@dataclass(frozen=True)
class TranscribeOptions:
    """basic-pitch's note-making thresholds, with bounds a page can build its sliders from.

    Parameters
    ----------
    onset_threshold : float in [0.05, 0.95]
        How sure the network must be that a note starts (default 0.5; lower finds more notes).
    frame_threshold : float in [0.05, 0.95]
        How sure it must be that a note still sounds (default 0.3).
    minimum_note_ms : float in [10, 1000]
        Shortest note kept, in milliseconds (default 127.7, basic-pitch's).
    """

    onset_threshold: float = 0.5
    frame_threshold: float = 0.3
    minimum_note_ms: float = 127.7

    def __post_init__(self):
        for name, lo, hi in (("onset_threshold", 0.05, 0.95), ("frame_threshold", 0.05, 0.95),
                             ("minimum_note_ms", 10.0, 1000.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise ParameterError(f"The '{name}' parameter must be a number in [{lo}, {hi}], got {v!r}.")


def available() -> bool:
    """True when basic-pitch and onnxruntime are installed."""
    try:
        _basic_pitch()
    except InputError:
        return False
    return True


@contextlib.contextmanager
def _quiet():
    """basic-pitch logs warnings about CoreML/TFLite/TensorFlow on import and prints on every call."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)


_MODEL = None


def _basic_pitch():
    global _MODEL
    try:
        with _quiet():
            from basic_pitch import ICASSP_2022_MODEL_PATH, inference
    except Exception as exc:  # missing package or a broken optional dependency
        raise InputError(
            "Transcription needs the 'basic-pitch' and 'onnxruntime' packages, which are not installed here."
        ) from exc
    if _MODEL is None:
        with _quiet():
            _MODEL = inference.Model(ICASSP_2022_MODEL_PATH)
    return inference, _MODEL


def transcribe(clip: Clip, *, options: TranscribeOptions = TranscribeOptions()) -> Piece:
    """The notes basic-pitch hears in a recording, as a :class:`~xai.music.Piece` marked as transcribed.

    Parameters
    ----------
    clip : Clip
        A recording from :func:`xai.audio.load_audio_bytes` (22,050 Hz mono, basic-pitch's own rate).
    options : TranscribeOptions
        Thresholds (defaults are basic-pitch's).

    Returns
    -------
    Piece
        One part per instrument basic-pitch reports (a single piano part), at 120 qpm with 4/4 bars, titled
        ``"<recording> (transcribed)"``; its source is the MIDI file, named the same.

    Raises
    ------
    InputError
        basic-pitch is not installed, or it found no notes.
    """
    if not isinstance(options, TranscribeOptions):
        raise ParameterError(f"The 'options' parameter must be a TranscribeOptions, got {type(options).__name__}.")
    inference, model = _basic_pitch()
    with tempfile.TemporaryDirectory() as tmp:
        # basic-pitch reads a file; the clip is already at its 22,050 Hz, so this WAV is read back unchanged.
        path = os.path.join(tmp, "clip.wav")
        with open(path, "wb") as f:
            f.write(to_wav_bytes(clip.waveform, clip.sample_rate))
        with _quiet():
            _, midi, notes = inference.predict(
                path, model, onset_threshold=options.onset_threshold, frame_threshold=options.frame_threshold,
                minimum_note_length=options.minimum_note_ms,
            )
    if not notes:
        raise InputError("No notes could be heard in this recording, so there is nothing to transcribe.")
    buf = io.BytesIO()
    midi.write(buf)
    title = clip.title or "recording"
    return xio.load_bytes(buf.getvalue(), f"{title} (transcribed).mid")

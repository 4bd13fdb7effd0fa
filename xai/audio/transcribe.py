"""Transcribe a recording to notes with basic-pitch (Bittner et al., ICASSP 2022), offline, on the CPU.

basic-pitch ships its network as ONNX (``nmp.onnx``, run with onnxruntime), so it is installed with
``pip install --no-deps basic-pitch==0.4.0`` plus the few packages it imports (librosa, mir_eval, resampy,
onnxruntime; pinned in requirements.txt), never TensorFlow. The transcription comes back as a MIDI file read
through :func:`xai.symbolic.io.load_bytes`, the same path as an upload, so every symbolic view can use it; its
title and file name say ``(transcribed)`` so it is never mistaken for a score.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from dataclasses import dataclass

import numpy as np

from xai.audio.clip import Clip
from xai.errors import InputError, ParameterError
from xai.symbolic import io as xio
from xai.symbolic.music import DEFAULT_QPM, Piece

__all__ = ["TranscribeOptions", "transcribe", "available", "SUFFIX", "is_transcribed", "describe"]

SUFFIX = " (transcribed)"  # what a transcribed piece's title ends with (and its MIDI file's name, before .mid)


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
        with _quiet():
            import basic_pitch  # noqa: F401
            import onnxruntime  # noqa: F401
    except (ImportError, OSError, RuntimeError, AttributeError):  # missing, or a broken native library
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


@dataclass(frozen=True)
class _Network:
    """basic-pitch's ONNX network in a session sized for this machine, with the note-making code beside it."""

    session: object  # onnxruntime.InferenceSession
    note_creation: object  # basic_pitch.note_creation
    constants: object  # basic_pitch.constants


_NETWORK: _Network | None = None
_BATCH = 8  # windows (2 s each) per onnxruntime call: fewer calls, and only ~2.5 MB of outputs a call


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _basic_pitch() -> _Network:
    """The network, loaded once per process (loading takes about a second)."""
    global _NETWORK
    if _NETWORK is not None:
        return _NETWORK
    try:
        with _quiet():
            import onnxruntime as ort
            from basic_pitch import ICASSP_2022_MODEL_PATH, constants, note_creation
    except Exception as exc:  # missing package or a broken optional dependency
        raise InputError(
            "Transcription needs the 'basic-pitch' and 'onnxruntime' packages, which are not installed here."
        ) from exc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = _threads()
    opts.inter_op_num_threads = 1
    # Threads that spin while waiting steal the core from the app's other work (and from a second session).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    path = str(ICASSP_2022_MODEL_PATH)
    if not path.endswith(".onnx"):  # basic-pitch picks a TensorFlow/CoreML/TFLite model when one is installed
        path = os.path.join(os.path.dirname(path), "nmp.onnx")
    with _quiet():
        session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    _NETWORK = _Network(session, note_creation, constants)
    return _NETWORK


def _model_output(net: _Network, waveform: np.ndarray) -> dict[str, np.ndarray]:
    """basic-pitch's frame-wise note, onset and contour activations for a 22,050 Hz mono waveform.

    The same windows as ``basic_pitch.inference.run_inference`` (2-second windows overlapping by 30 frames,
    half an overlap of silence in front) but cut from the waveform we already hold instead of a file read back
    through librosa, and run a batch at a time instead of one by one.
    """
    c = net.constants
    n_overlap = 30
    overlap = n_overlap * c.FFT_HOP
    hop = c.AUDIO_N_SAMPLES - overlap
    n = waveform.size
    x = np.concatenate([np.zeros(overlap // 2, np.float32), np.asarray(waveform, np.float32)])
    starts = np.arange(0, x.size, hop)
    x = np.pad(x, (0, int(starts[-1]) + c.AUDIO_N_SAMPLES - x.size))
    windows = np.lib.stride_tricks.sliding_window_view(x, c.AUDIO_N_SAMPLES)[::hop][: starts.size]
    names = {"note": "StatefulPartitionedCall:1", "onset": "StatefulPartitionedCall:2",
             "contour": "StatefulPartitionedCall:0"}
    chunks: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for i in range(0, len(windows), _BATCH):
        batch = np.ascontiguousarray(windows[i: i + _BATCH])[..., None]
        for k, v in zip(names, net.session.run(list(names.values()), {"serving_default_input_2:0": batch})):
            chunks[k].append(v)
    half = n_overlap // 2
    n_frames = int(np.floor(n * (c.ANNOTATIONS_FPS / c.AUDIO_SAMPLE_RATE)))
    out = {}
    for k, parts in chunks.items():
        y = np.concatenate(parts)[:, half:-half, :]
        out[k] = y.reshape(-1, y.shape[-1])[:n_frames]
    return out


def transcribe(clip: Clip, *, options: TranscribeOptions = TranscribeOptions()) -> Piece:
    """The notes basic-pitch hears in a recording, as a :class:`~xai.symbolic.music.Piece` marked as transcribed.

    Parameters
    ----------
    clip : Clip
        A recording from :func:`xai.audio.clip.load_audio_bytes` (22,050 Hz mono, basic-pitch's own rate).
    options : TranscribeOptions
        Thresholds (defaults are basic-pitch's).

    Returns
    -------
    Piece
        One part per instrument basic-pitch reports (a single piano part), at 120 qpm with 4/4 bars, titled
        ``"<recording> (transcribed)"``; its source is the MIDI file, named the same (notes only: no pitch bends).

    Raises
    ------
    InputError
        basic-pitch is not installed, or it found no notes.
    """
    if not isinstance(options, TranscribeOptions):
        raise ParameterError(f"The 'options' parameter must be a TranscribeOptions, got {type(options).__name__}.")
    net = _basic_pitch()
    if clip.sample_rate != net.constants.AUDIO_SAMPLE_RATE:
        raise ParameterError(f"The 'clip' must be at {net.constants.AUDIO_SAMPLE_RATE} Hz (as load_audio_bytes "
                             f"gives it), got {clip.sample_rate} Hz.")
    if clip.n_samples < net.constants.FFT_HOP:
        raise InputError("This recording is too short to hear any notes in, so there is nothing to transcribe.")
    output = _model_output(net, clip.waveform)
    fps = net.constants.AUDIO_SAMPLE_RATE / net.constants.FFT_HOP
    with _quiet(), np.errstate(divide="ignore", invalid="ignore"):  # silence makes basic-pitch divide 0 by 0
        # Without pitch bends: a Piece has none, and the MIDI file would carry tens of thousands of them.
        midi, notes = net.note_creation.model_output_to_notes(
            output, onset_thresh=options.onset_threshold, frame_thresh=options.frame_threshold,
            min_note_len=int(np.round(options.minimum_note_ms / 1000 * fps)), include_pitch_bends=False,
        )
    if not notes:
        raise InputError("No notes could be heard in this recording, so there is nothing to transcribe.")
    buf = io.BytesIO()
    midi.write(buf)
    title = clip.title or "recording"
    return xio.load_bytes(buf.getvalue(), f"{title}{SUFFIX}.mid")


def is_transcribed(piece: Piece) -> bool:
    """Whether a piece came from :func:`transcribe` (or has no source file at all): then there is no written score."""
    return piece.source is None or piece.source.name.endswith(f"{SUFFIX.lstrip()}.mid")


def describe(piece: Piece) -> str:
    """What a transcribed piece is and is not, in one sentence (markdown): the recording it came from, and that
    its notes are basic-pitch's guesses and its bars a fixed 4/4 grid at one tempo."""
    recording = piece.title.removesuffix(SUFFIX)
    qpm = piece.tempi[0][1] if piece.tempi else DEFAULT_QPM
    return (
        f"Transcribed from the recording *{recording}* by basic-pitch: the notes are the network's guesses, not a "
        f"score, and the bars assume 4/4 at a fixed {qpm:g} quarter notes a minute (no tempo is detected)."
    )

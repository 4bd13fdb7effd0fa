"""Recordings as plain data: a mono waveform at the models' sample rate, with where it came from.

Uploads come from strangers, so :func:`load_audio_bytes` checks a file before the slow part, in the same
spirit as :mod:`xai.symbolic.io` for scores: the container is recognised by its first bytes (a video or an image
renamed ``.wav`` is named for what it is), the length, channels and sample rate are read from the header and
checked against :class:`AudioLimits` before any sample is decoded, and every problem is one plain sentence in
an :class:`~xai.errors.InputError`. WAV (PCM, 8/16/24/32-bit) is read with the standard library; FLAC, Ogg
Vorbis/Opus, MP3 and floating-point WAV with ``soundfile`` (its wheel bundles libsndfile, no system package).

Every clip is mixed down to mono and resampled to :data:`SAMPLE_RATE` (22,050 Hz) with a polyphase filter
(``scipy.signal.resample_poly``), the rate all audio models are trained at.

Limits
------
The default :data:`DEFAULT_AUDIO_LIMITS` are:

- ``max_bytes = 100_000_000``: a file may be at most 100 MB;
- ``max_seconds = 900``: at most 15 minutes of sound;
- ``min_seconds = 0.25``: at least a quarter of a second;
- ``max_channels = 2``: mono or stereo (a multichannel stem file must be mixed down first);
- ``min_sample_rate = 8_000`` and ``max_sample_rate = 96_000`` Hz;
- a recording whose loudest sample is below ``silence_dbfs = -60`` dB full scale counts as silent.
"""

from __future__ import annotations

import io
import math
import wave
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

from xai import _upload
from xai._upload import identify
from xai.errors import InputError, ParameterError, check_int
from xai.symbolic.music import Source

__all__ = [
    "SAMPLE_RATE",
    "SUPPORTED_AUDIO_EXTENSIONS",
    "AudioLimits",
    "DEFAULT_AUDIO_LIMITS",
    "Clip",
    "load_audio",
    "load_audio_bytes",
    "from_wav_bytes",
    "resample",
    "to_wav_bytes",
    "frames",
    "clip_key",
]

SAMPLE_RATE = 22_050

SUPPORTED_AUDIO_EXTENSIONS: dict[str, str] = {
    ".wav": "wav",
    ".wave": "wav",
    ".flac": "flac",
    ".ogg": "ogg",
    ".oga": "ogg",
    ".opus": "ogg",
    ".mp3": "mp3",
}
_FORMATS_SENTENCE = "Upload a recording as WAV (.wav), FLAC (.flac), Ogg (.ogg) or MP3 (.mp3)."
_WHAT = {"wav": "a WAV recording", "flac": "a FLAC recording", "ogg": "an Ogg recording", "mp3": "an MP3 recording"}

@dataclass(frozen=True)
class AudioLimits:
    """How large and how odd an audio upload may be; checked from the header before decoding.

    Parameters
    ----------
    max_bytes : int
        Largest file size in bytes (default 100 MB).
    max_seconds : float
        Longest recording in seconds (default 900, i.e. 15 minutes).
    min_seconds : float
        Shortest recording in seconds (default 0.25).
    max_channels : int
        Most channels (default 2: mono or stereo).
    min_sample_rate, max_sample_rate : int
        Accepted sample rates in Hz (default 8,000 to 96,000).
    silence_dbfs : float
        A recording whose peak is below this level (dB full scale, default -60) is refused as silent.
    """

    max_bytes: int = 100_000_000
    max_seconds: float = 900.0
    min_seconds: float = 0.25
    max_channels: int = 2
    min_sample_rate: int = 8_000
    max_sample_rate: int = 96_000
    silence_dbfs: float = -60.0

    def __post_init__(self):
        check_int("max_bytes", self.max_bytes, 1, 2**40)
        check_int("max_channels", self.max_channels, 1, 256)
        check_int("min_sample_rate", self.min_sample_rate, 1, 10**7)
        check_int("max_sample_rate", self.max_sample_rate, self.min_sample_rate, 10**7)
        for name in ("max_seconds", "min_seconds", "silence_dbfs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ParameterError(f"The '{name}' parameter must be a finite number, got {v!r}.")
            object.__setattr__(self, name, float(v))
        if not 0 <= self.min_seconds < self.max_seconds:
            raise ParameterError(
                f"The 'min_seconds' parameter must be in [0, max_seconds), got {self.min_seconds!r}."
            )


DEFAULT_AUDIO_LIMITS = AudioLimits()


@dataclass(frozen=True, eq=False)
class Clip:
    """A mono recording at :data:`SAMPLE_RATE` and where it came from.

    ``original_sample_rate`` and ``original_channels`` describe the file as handed in, before the mix-down
    and resampling, so a page can say what was done to it.
    """

    waveform: np.ndarray = field(repr=False)  # float32, mono, in [-1, 1]
    sample_rate: int
    title: str = ""
    source: Source | None = None
    original_sample_rate: int = 0
    original_channels: int = 1

    @property
    def n_samples(self) -> int:
        """How many samples the clip holds."""
        return int(self.waveform.size)

    @property
    def duration_seconds(self) -> float:
        """The clip's length in seconds."""
        return self.n_samples / float(self.sample_rate)


def clip_key(clip: Clip) -> str:
    """A cache key of a clip: its file's SHA-256 when it came from a file, else one for this object only."""
    return clip.source.sha256 if clip.source is not None else f"clip:{id(clip)}"


def load_audio(path, *, limits: AudioLimits = DEFAULT_AUDIO_LIMITS) -> Clip:
    """Read a recording from disk; see :func:`load_audio_bytes`. The size is checked before reading."""
    _check_limits(limits)
    data, name = _upload.read_upload(path, max_bytes=limits.max_bytes, check_name=_format_for,
                                     too_big=lambda n, s: _too_big(n, s, limits))
    return load_audio_bytes(data, name, limits=limits)


def load_audio_bytes(data: bytes, filename: str, *, limits: AudioLimits = DEFAULT_AUDIO_LIMITS) -> Clip:
    """Decode an uploaded recording into a mono :class:`Clip` at :data:`SAMPLE_RATE`, checking it on the way.

    The extension must be one of :data:`SUPPORTED_AUDIO_EXTENSIONS`, but the container is recognised by its
    content (a FLAC file named ``.wav`` is read as FLAC). Length, channels and sample rate come from the
    header and are checked before decoding, so a two-hour file costs nothing.

    Parameters
    ----------
    data : bytes
        The file's contents.
    filename : str
        The file's name as uploaded; it names the file in messages.
    limits : AudioLimits
        Limits (default :data:`DEFAULT_AUDIO_LIMITS`).

    Returns
    -------
    Clip
        Mono float32 samples at 22,050 Hz, with the upload kept as its ``source``.

    Raises
    ------
    InputError
        Unsupported extension, not audio (a video, an image...), empty, damaged or cut short, too large,
        too long or too short, too many channels, an odd sample rate, or silence.
    """
    _check_limits(limits)
    data, name = _upload.check_upload(data, filename, max_bytes=limits.max_bytes, check_name=_format_for,
                                      too_big=lambda n, s: _too_big(n, s, limits))
    fmt = _sniff(data, name)
    if fmt == "wav":
        samples, sr, channels = _read_wav(data, name, limits)
    else:
        samples, sr, channels = _read_soundfile(data, name, fmt, limits)
    # A matrix product mixes interleaved channels down ten times faster than a strided mean.
    mono = samples @ np.full(samples.shape[1], 1.0 / samples.shape[1], dtype=np.float32) if samples.ndim == 2 else samples
    mono = np.asarray(mono, dtype=np.float32)
    if mono.size == 0:
        raise InputError(f"'{name}' holds no sound (0 samples); upload a recording with some music in it.")
    peak = float(np.max(np.abs(mono)))
    if not np.isfinite(peak):
        raise _unreadable(name, fmt)
    if peak <= 10 ** (limits.silence_dbfs / 20):
        raise InputError(
            f"'{name}' is silent (its loudest moment is below {limits.silence_dbfs:g} dB); "
            "check the recording level and upload it again."
        )
    wav = resample(mono, sr, SAMPLE_RATE)
    source = Source.from_bytes(name, fmt, data)
    return Clip(
        waveform=np.clip(wav, -1.0, 1.0).astype(np.float32),
        sample_rate=SAMPLE_RATE,
        title=PurePath(name).stem or name,
        source=source,
        original_sample_rate=int(sr),
        original_channels=int(channels),
    )


def from_wav_bytes(data: bytes, *, title: str = "") -> Clip:
    """A clip from trusted WAV bytes (our own renders): mixed to mono and resampled, no upload checks."""
    with wave.open(io.BytesIO(data)) as w:
        sr, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        raw = w.readframes(n)
    x = _pcm_to_float(raw, width, ch)
    return Clip(waveform=resample(x.mean(axis=1), sr, SAMPLE_RATE), sample_rate=SAMPLE_RATE, title=title,
                original_sample_rate=sr, original_channels=ch)


def resample(x: np.ndarray, sr_in: int, sr_out: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling of a mono signal (``scipy.signal.resample_poly``), float32 out."""
    x = np.asarray(x, dtype=np.float32)
    if sr_in == sr_out:
        return x
    from scipy.signal import resample_poly

    g = math.gcd(int(sr_in), int(sr_out))
    return resample_poly(x, sr_out // g, sr_in // g).astype(np.float32)


def to_wav_bytes(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono WAV bytes of a float waveform (clipped to [-1, 1]), for playback and download."""
    x = np.clip(np.asarray(waveform, dtype=np.float32), -1.0, 1.0)
    pcm = np.round(x * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def frames(clip: Clip, *, seconds: float, hop_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut a clip into windows of ``seconds`` every ``hop_seconds``, the last one padded with silence.

    Returns
    -------
    windows : ndarray, shape (N, round(seconds * sample_rate)), float32
    starts : ndarray, shape (N,), float64
        Start time of each window in seconds.
    """
    if seconds <= 0 or hop_seconds <= 0:
        raise ParameterError("The 'seconds' and 'hop_seconds' parameters must be positive.")
    L = int(round(seconds * clip.sample_rate))
    H = int(round(hop_seconds * clip.sample_rate))
    n = max(1, int(math.ceil(max(clip.n_samples - L, 0) / H)) + 1)
    padded = np.zeros((n - 1) * H + L, dtype=np.float32)
    padded[: clip.n_samples] = clip.waveform[: padded.size]
    idx = np.arange(n)[:, None] * H + np.arange(L)[None, :]
    return padded[idx], np.arange(n) * H / float(clip.sample_rate)


# --- decoding -------------------------------------------------------------------------------------------------


def _check_limits(limits) -> None:
    if not isinstance(limits, AudioLimits):
        raise ParameterError(f"The 'limits' parameter must be an AudioLimits, got {type(limits).__name__}.")


def _format_for(name: str) -> str:
    return _upload.format_for(name, SUPPORTED_AUDIO_EXTENSIONS, kind="an audio format", sentence=_FORMATS_SENTENCE)


def _sniff(data: bytes, name: str) -> str:
    """The container, from the file's first bytes; a non-audio file is named for what it is."""
    head = data[:16]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    what = "an XML document" if data.lstrip()[:5] == b"<?xml" else identify(head)
    if what == "an MP3 recording":
        return "mp3"
    if what == "a MIDI file":
        what += " (open it in the score views instead)"
    if what is not None:
        raise _not_audio(name, what)
    raise InputError(
        f"'{name}' does not look like a recording (it may be damaged or another kind of file). {_FORMATS_SENTENCE}"
    )


def _not_audio(name: str, what: str) -> InputError:
    return InputError(
        f"'{name}' is {what}, not a recording this tool reads; export its sound as WAV, FLAC, Ogg or MP3 "
        "and upload that."
    )


def _check_header(name: str, sr: int, channels: int, n_frames: int, limits: AudioLimits) -> None:
    """Refuse from the header alone, before decoding: channels, sample rate, length."""
    if channels < 1 or sr <= 0:
        raise InputError(f"'{name}' has a damaged header (no channels or no sample rate); export it again.")
    if channels > limits.max_channels:
        raise InputError(
            f"'{name}' has {channels} channels; this tool reads at most {limits.max_channels} (mono or stereo). "
            "Mix it down to stereo in your audio program and upload it again."
        )
    if not limits.min_sample_rate <= sr <= limits.max_sample_rate:
        raise InputError(
            f"'{name}' is sampled at {sr:,} Hz; this tool reads {limits.min_sample_rate:,} to "
            f"{limits.max_sample_rate:,} Hz. Export it at 44,100 or 48,000 Hz and upload it again."
        )
    seconds = n_frames / float(sr)
    if seconds > limits.max_seconds:
        raise InputError(
            f"'{name}' lasts {_duration(seconds)}, longer than the {_duration(limits.max_seconds)} this tool "
            "reads; upload an excerpt."
        )
    if seconds < limits.min_seconds:
        raise InputError(
            f"'{name}' lasts only {seconds:.2f} s; this tool needs at least {limits.min_seconds:g} s of sound."
        )


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours".replace(".0 ", " ")
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.1f} seconds"


def _read_wav(data: bytes, name: str, limits: AudioLimits) -> tuple[np.ndarray, int, int]:
    try:
        w = wave.open(io.BytesIO(data))
    except wave.Error:
        # Floating-point and WAVE_FORMAT_EXTENSIBLE files are valid WAV the standard library cannot read.
        return _read_soundfile(data, name, "wav", limits)
    except (EOFError, ValueError, OSError) as exc:  # a header cut short
        raise _unreadable(name, "wav") from exc
    with w:
        sr, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        _check_header(name, sr, ch, n, limits)
        raw = w.readframes(n)
    got = len(raw) // max(width * ch, 1)
    if got < n:
        raise InputError(
            f"'{name}' is cut short: its header promises {n / sr:.1f} s but only {got / sr:.1f} s are there. "
            "Upload the complete file."
        )
    return _pcm_to_float(raw, width, ch), sr, ch


def _pcm_to_float(raw: bytes, width: int, channels: int) -> np.ndarray:
    """Interleaved little-endian PCM bytes -> (n, channels) float32 in [-1, 1]."""
    n = len(raw) // (width * channels)
    raw = raw[: n * width * channels]
    if width == 1:  # 8-bit WAV is unsigned
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / float(1 << 31)
    else:
        raise InputError(f"WAV samples of {width} bytes are not supported; export as 16- or 24-bit PCM.")
    return x.reshape(n, channels)


def _read_soundfile(data: bytes, name: str, fmt: str, limits: AudioLimits) -> tuple[np.ndarray, int, int]:
    if fmt == "ogg" and not _ogg_complete(data):
        raise _cut_short(name)
    try:
        import soundfile as sf
    except ImportError as exc:  # pragma: no cover - soundfile is pinned in requirements.txt
        raise InputError(f"Reading {_WHAT[fmt]} needs the 'soundfile' package; install it or upload a WAV file.") from exc
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            sr, ch, n = int(f.samplerate), int(f.channels), int(f.frames)
            _check_header(name, sr, ch, n, limits)
            x = f.read(dtype="float32", always_2d=True)
    except InputError:
        raise
    except Exception as exc:  # libsndfile raises LibsndfileError / RuntimeError on damaged data
        raise _unreadable(name, fmt) from exc
    # A whole file decodes to what its header promises; an MP3 cut at 90 % still decodes 96 % of it (its length
    # comes from the Xing header or the file size), so anything short of 99 % is a file cut short.
    if x.shape[0] < _WHOLE * n:
        raise InputError(
            f"'{name}' is cut short: its header promises {n / sr:.1f} s but only {x.shape[0] / sr:.1f} s could "
            "be decoded. Upload the complete file."
        )
    return x, sr, ch


_WHOLE = 0.99


def _ogg_complete(data: bytes) -> bool:
    """Whether an Ogg stream ends as a whole file does: its last page is complete and marks the end of stream.

    Ogg keeps no length in a header; a truncated file simply stops, and libsndfile then reports a length of
    0 or of what is left. The last page's header says whether it ends the stream (flag 0x04), and its segment
    table says how long the page must be.
    """
    pos = data.rfind(b"OggS", max(0, len(data) - 70_000))
    while pos >= 0:
        head = data[pos:pos + 27]
        if len(head) == 27 and head[4] == 0:  # version 0: a real page header, not the letters in audio data
            n_segments = head[26]
            table = data[pos + 27:pos + 27 + n_segments]
            if len(table) == n_segments:
                complete = pos + 27 + n_segments + sum(table) == len(data)
                return complete and bool(head[5] & 0x04)
        pos = data.rfind(b"OggS", max(0, len(data) - 70_000), pos)
    return False


def _cut_short(name: str) -> InputError:
    return InputError(
        f"'{name}' is cut short: the recording stops before its end (the file was not copied or saved "
        "completely). Upload the complete file."
    )


def _unreadable(name: str, fmt: str) -> InputError:
    return InputError(
        f"'{name}' could not be read as {_WHAT[fmt]} (it may be damaged or cut short); "
        "export it again from your audio program and upload the new file."
    )


def _too_big(name: str, size: int, limits: AudioLimits) -> InputError:
    return InputError(
        f"'{name}' is {size / 1e6:.1f} MB, more than the {limits.max_bytes / 1e6:g} MB this tool accepts; "
        "upload a shorter excerpt or a compressed file (FLAC, Ogg, MP3)."
    )

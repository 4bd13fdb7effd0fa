"""The common front end of every upload loader: the bytes and name of a file, its size checked, its type told.

The score loader (:mod:`xai.symbolic.io`) and the audio loader (:mod:`xai.audio.clip`) take the same first steps
on a file handed in by a stranger, before anything format-specific: read its bytes from a path or a file-like
(checking the extension and the size before reading, so a wrong or huge file costs nothing), or check bytes
already read (type, name, emptiness, size); and, when a file is not what its extension says, name what it really
is from its first bytes (:func:`identify`). Each problem is one plain sentence in an
:class:`~xai.errors.InputError`; the loader supplies the sentences that differ (the formats it reads, the size it
accepts) as ``check_name`` and ``too_big``.

People upload the wrong thing (a PDF of the score, a video renamed .wav, a MIDI file in the audio view); a
loader that knows what the file is can say so in its message instead of "damaged". Text formats (XML,
ABC, Humdrum) are not judged here: for the score loader they are the expected input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePath

from xai.errors import InputError, ParameterError, XaiError

__all__ = ["identify", "upload_name", "read_upload", "check_upload"]

NameCheck = Callable[[str], object]
"""``check_name(name)``: raises :class:`~xai.errors.InputError` for a file name the loader does not read."""
TooBig = Callable[[str, int], XaiError]
"""``too_big(name, size)``: the loader's error for a file over its size limit."""

_SIGNATURES = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"ID3", "an MP3 recording"),
    (b"fLaC", "a FLAC recording"),
    (b"OggS", "an Ogg recording"),
    (b"MThd", "a MIDI file"),
    (b"PK\x03\x04", "a zip archive"),
    (b"\x1aE\xdf\xa3", "a Matroska/WebM video"),
    (b"\x00\x00\x01\xba", "an MPEG video"),
    (b"FLV", "a Flash video"),
)


def identify(data: bytes) -> str | None:
    """A short description of a common file type ("a PNG image"), or None when the bytes are not recognised."""
    head = data[:16]
    if head[:4] == b"RIFF":
        if head[8:12] == b"WAVE":
            return "a WAV recording"
        if head[8:12] == b"AVI ":
            return "an AVI video"
    if head[4:8] == b"ftyp":
        return "an M4A/AAC recording" if head[8:12].startswith(b"M4A") else "an MP4/QuickTime video"
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    # An MPEG layer III frame without an ID3 tag (MPEG-1, 2 and 2.5, with or without CRC). The other 0xFFEx/
    # 0xFFFx pairs are not accepted: 0xFFFE is a UTF-16 byte-order mark, the start of a perfectly good score.
    if head[:2] in (b"\xff\xfb", b"\xff\xfa", b"\xff\xf3", b"\xff\xf2", b"\xff\xe3", b"\xff\xe2"):
        return "an MP3 recording"
    return None


def format_for(name: str, extensions: dict, *, kind: str, sentence: str) -> str:
    """The format an upload's name promises by its extension, or a plain refusal naming what is read.

    ``kind`` says what the tool reads ("a format", "an audio format"); ``sentence`` lists the formats.
    """
    fmt = extensions.get(PurePath(name).suffix.lower())
    if fmt is None:
        raise InputError(f"'{name}' is not {kind} this tool reads. {sentence}")
    return fmt


def upload_name(filename: str) -> str:
    """The file's own name without any folder (Windows or POSIX), or 'The file' when there is none."""
    return PurePath(filename.replace("\\", "/")).name or "The file"


def read_upload(source, *, max_bytes: int, check_name: NameCheck, too_big: TooBig) -> tuple[bytes, str]:
    """The bytes and name of a file given by its path or as an open binary file-like (an upload widget's file).

    For a path, the name is checked (``check_name``) and the size compared with ``max_bytes`` before the file is
    read. A file-like's name is its ``name`` attribute (else 'upload'); its bytes are checked as
    :func:`check_upload` does.

    Raises
    ------
    ParameterError
        ``source`` is neither a path nor a file-like.
    InputError
        No file there, unreadable, an unsupported name, or too large.
    """
    if hasattr(source, "read"):
        data = source.getvalue() if hasattr(source, "getvalue") else source.read()
        return check_upload(data, str(getattr(source, "name", "upload")), max_bytes=max_bytes,
                            check_name=check_name, too_big=too_big)
    try:
        p = Path(source)
    except TypeError as exc:
        raise ParameterError(f"The 'path' parameter must be a file path, got {type(source).__name__}.") from exc
    check_name(p.name)
    try:
        if not p.is_file():
            raise InputError(f"There is no file at '{p}'; check the path and try again.")
        size = p.stat().st_size
        if size > max_bytes:
            raise too_big(p.name, size)
        return p.read_bytes(), p.name
    except OSError as exc:
        raise InputError(f"'{p}' could not be opened ({exc.strerror or 'access denied'}); check the file.") from exc


def check_upload(data, filename, *, max_bytes: int, check_name: NameCheck, too_big: TooBig) -> tuple[bytes, str]:
    """Bytes handed in with a file name, checked: ``(bytes, the name without folders)``.

    Raises
    ------
    ParameterError
        ``data`` is not bytes-like or ``filename`` not a str.
    InputError
        An unsupported name (``check_name``), an empty file, or more than ``max_bytes`` (``too_big``).
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ParameterError(f"The 'data' parameter must be bytes, got {type(data).__name__}.")
    if not isinstance(filename, str):
        raise ParameterError(f"The 'filename' parameter must be a str, got {type(filename).__name__}.")
    name = upload_name(filename)
    check_name(name)
    if not data:
        raise InputError(f"'{name}' is empty (0 bytes); check that it was saved completely and upload it again.")
    if len(data) > max_bytes:
        raise too_big(name, len(data))
    return data, name


def safe_filename(text: str, *, limit: int = 60) -> str:
    """``text`` made safe as a file name: letters, digits, '-', '_' and '.' kept, the rest '_'."""
    out = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(text)).strip("._")
    return out[:limit] or "file"

"""What an uploaded binary file really is, judged from its first bytes: one table for every loader.

People upload the wrong thing (a PDF of the score, a video renamed .wav, a MIDI file in the audio view); a
loader that knows what the file is can say so in its message instead of "damaged". Text formats (XML,
ABC, Humdrum) are not judged here: for the score loader they are the expected input.
"""

from __future__ import annotations

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

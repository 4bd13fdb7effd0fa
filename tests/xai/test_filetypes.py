import pytest

from xai._filetypes import identify


@pytest.mark.parametrize("head,what", [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "a WAV recording"),
    (b"RIFF\x00\x00\x00\x00AVI LIST", "an AVI video"),
    (b"\x00\x00\x00\x18ftypmp42", "an MP4/QuickTime video"),
    (b"\x00\x00\x00\x18ftypM4A ", "an M4A/AAC recording"),
    (b"\xff\xfb\x90\x00", "an MP3 recording"),
    (b"ID3\x04", "an MP3 recording"),
    (b"MThd\x00\x00\x00\x06", "a MIDI file"),
    (b"\x1aE\xdf\xa3", "a Matroska/WebM video"),
])
def test_common_uploads_are_named_for_what_they_are(head, what):
    assert identify(head + b"\x00" * 16) == what


def test_unknown_bytes_are_not_guessed():
    assert identify(b"X:1\nT:tune\nK:G\n") is None
    assert identify(b"") is None


def test_a_utf16_byte_order_mark_is_not_taken_for_mp3():
    assert identify(b"\xff\xfe<\x00?\x00x\x00m\x00l\x00") is None

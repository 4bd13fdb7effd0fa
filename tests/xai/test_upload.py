"""xai._upload: file types by signature, and the loaders' common front end (bytes, name, size)."""

import io

import pytest

from xai._upload import check_upload, identify, read_upload, upload_name
from xai.errors import InputError, ParameterError


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


# --- the loaders' common front end --------------------------------------------------------------------------------


def _only_mid(name):
    if not name.endswith(".mid"):
        raise InputError(f"'{name}' is not a format this tool reads.")


def _too_big(name, size):
    return InputError(f"'{name}' is {size} bytes, too big.")


FRONT = dict(max_bytes=10, check_name=_only_mid, too_big=_too_big)


def test_upload_name_drops_folders_of_either_kind():
    assert upload_name("C:\\Users\\me\\tune.mid") == "tune.mid"
    assert upload_name("/tmp/a/tune.mid") == "tune.mid"
    assert upload_name("") == "The file"


def test_check_upload_accepts_bytes_like_and_returns_the_bare_name():
    assert check_upload(bytearray(b"MThd"), "dir/a.mid", **FRONT) == (b"MThd", "a.mid")
    assert check_upload(memoryview(b"MThd"), "a.mid", **FRONT) == (b"MThd", "a.mid")


@pytest.mark.parametrize("data,name,error,words", [
    ("text", "a.mid", ParameterError, "must be bytes"),
    (b"x", 3, ParameterError, "must be a str"),
    (b"x", "a.pdf", InputError, "not a format"),
    (b"", "a.mid", InputError, "is empty"),
    (b"x" * 11, "a.mid", InputError, "11 bytes, too big"),
])
def test_check_upload_refuses_in_one_sentence(data, name, error, words):
    with pytest.raises(error, match=words):
        check_upload(data, name, **FRONT)


def test_read_upload_reads_a_path_after_checking_name_and_size(tmp_path):
    good = tmp_path / "a.mid"
    good.write_bytes(b"MThd")
    assert read_upload(good, **FRONT) == (b"MThd", "a.mid")
    assert read_upload(str(good), **FRONT) == (b"MThd", "a.mid")
    big = tmp_path / "big.mid"
    big.write_bytes(b"x" * 11)
    with pytest.raises(InputError, match="too big"):
        read_upload(big, **FRONT)
    with pytest.raises(InputError, match="There is no file"):
        read_upload(tmp_path / "missing.mid", **FRONT)
    with pytest.raises(InputError, match="not a format"):
        read_upload(tmp_path / "missing.pdf", **FRONT)
    with pytest.raises(ParameterError, match="file path"):
        read_upload(3.5, **FRONT)


def test_read_upload_reads_a_file_like_by_its_name():
    f = io.BytesIO(b"MThd")
    f.name = "up/a.mid"
    assert read_upload(f, **FRONT) == (b"MThd", "a.mid")
    with pytest.raises(InputError, match="'upload' is not a format"):
        read_upload(io.BytesIO(b"MThd"), **FRONT)  # no name: called 'upload', which no loader reads
    empty = io.BytesIO(b"")
    empty.name = "a.mid"
    with pytest.raises(InputError, match="is empty"):
        read_upload(empty, **FRONT)

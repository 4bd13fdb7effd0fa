"""Recordings cut short are refused as such, in every container: Ogg (no length in its header) and MP3 too."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from xai.audio import clip
from xai.errors import InputError


def _encode(fmt: str, subtype: str | None = None) -> bytes:
    t = np.arange(3 * 22_050) / 22_050
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * 440 * t), 22_050, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.fixture(scope="module")
def recordings() -> dict[str, bytes]:
    return {"ogg": _encode("OGG", "VORBIS"), "mp3": _encode("MP3"), "flac": _encode("FLAC")}


@pytest.mark.parametrize("ext", ["ogg", "mp3", "flac"])
def test_a_whole_recording_loads(recordings, ext):
    assert clip.load_audio_bytes(recordings[ext], f"tone.{ext}").duration_seconds == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize("ext, percent", [("ogg", 50), ("ogg", 75), ("ogg", 90), ("ogg", 99), ("mp3", 75),
                                          ("mp3", 90), ("flac", 75)])
def test_a_recording_cut_short_is_refused_as_cut_short(recordings, ext, percent):
    data = recordings[ext]
    with pytest.raises(InputError) as info:
        clip.load_audio_bytes(data[: len(data) * percent // 100], f"cut.{ext}")
    msg = str(info.value)
    assert "'cut.ogg'" in msg or f"'cut.{ext}'" in msg
    assert "cut short" in msg or "could not be read" in msg
    if ext in ("ogg", "mp3"):  # the two the issue found accepted as whole
        assert "cut short" in msg

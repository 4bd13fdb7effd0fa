"""Tests of xai.audio.clip: decoding, resampling and every kind of bad upload, each built in the test."""

import io
import struct
import wave

import numpy as np
import pytest

from xai.audio import clip as audio
from xai.errors import InputError, ParameterError


def _wav(x: np.ndarray, sr: int = 22050, *, width: int = 2) -> bytes:
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(width)
        w.setframerate(sr)
        if width == 2:
            w.writeframes(np.round(x * 32767).astype("<i2").tobytes())
        elif width == 1:
            w.writeframes(np.round(x * 127 + 128).astype(np.uint8).tobytes())
        else:
            w.writeframes(np.round(x * (2**31 - 1)).astype("<i4").tobytes())
    return buf.getvalue()


def _tone(sr=22050, seconds=1.0, f=440.0, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    return amp * np.sin(2 * np.pi * f * t)


def _sf_bytes(x, sr, fmt, subtype=None):
    sf = pytest.importorskip("soundfile")
    buf = io.BytesIO()
    sf.write(buf, np.asarray(x, dtype=np.float32), sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def test_wav_round_trip_keeps_the_tone():
    clip = audio.load_audio_bytes(_wav(_tone()), "a.wav")
    assert clip.sample_rate == audio.SAMPLE_RATE
    assert clip.n_samples == 22050
    assert clip.waveform.dtype == np.float32
    np.testing.assert_allclose(clip.waveform, _tone(), atol=1e-4)
    assert clip.source.format == "wav" and clip.title == "a"


@pytest.mark.parametrize("width", [1, 2, 4])
def test_wav_bit_depths(width):
    clip = audio.load_audio_bytes(_wav(_tone(), width=width), "a.wav")
    np.testing.assert_allclose(clip.waveform, _tone(), atol=1.5 / 2 ** (8 * width - 1) + 1e-4 if width > 1 else 0.02)


def test_stereo_is_mixed_down_and_44k1_resampled():
    x = np.stack([_tone(44100), -_tone(44100) * 0.0], axis=1)
    clip = audio.load_audio_bytes(_wav(x, 44100), "s.wav")
    assert clip.original_channels == 2 and clip.original_sample_rate == 44100
    assert clip.n_samples == 22050
    # mean of the channels: half the amplitude of the tone, frequency kept
    spec = np.abs(np.fft.rfft(clip.waveform))
    assert abs(np.argmax(spec) - 440) <= 1
    assert 0.2 < np.max(np.abs(clip.waveform[1000:-1000])) < 0.3


def test_48k_resampling_keeps_frequency():
    clip = audio.load_audio_bytes(_wav(_tone(48000, 2.0, f=1000.0), 48000), "t.wav")
    assert clip.n_samples == 44100
    spec = np.abs(np.fft.rfft(clip.waveform))
    assert abs(np.argmax(spec) / 2.0 - 1000) <= 1


@pytest.mark.parametrize("fmt,ext", [("FLAC", ".flac"), ("OGG", ".ogg"), ("MP3", ".mp3")])
def test_compressed_formats(fmt, ext):
    data = _sf_bytes(_tone(44100), 44100, fmt)
    clip = audio.load_audio_bytes(data, "x" + ext)
    assert abs(clip.duration_seconds - 1.0) < 0.1
    spec = np.abs(np.fft.rfft(clip.waveform))
    assert abs(np.argmax(spec) / clip.duration_seconds - 440) < 5


def test_float_wav_goes_through_soundfile():
    data = _sf_bytes(_tone(), 22050, "WAV", "FLOAT")
    clip = audio.load_audio_bytes(data, "f.wav")
    np.testing.assert_allclose(clip.waveform, _tone(), atol=1e-5)


def test_flac_named_wav_is_read_by_content():
    data = _sf_bytes(_tone(), 22050, "FLAC")
    assert audio.load_audio_bytes(data, "mislabelled.wav").source.format == "flac"


def _msg(data, name="x.wav", **limits):
    with pytest.raises(InputError) as e:
        audio.load_audio_bytes(data, name, limits=audio.AudioLimits(**limits) if limits else audio.DEFAULT_AUDIO_LIMITS)
    msg = str(e.value)
    assert "Traceback" not in msg and "\n" not in msg
    return msg


def test_zero_length():
    assert "empty" in _msg(b"")


def test_zero_samples():
    assert "at least" in _msg(_wav(np.zeros(0)))


def test_truncated_wav():
    data = _wav(_tone(seconds=2.0))
    assert "cut short" in _msg(data[: len(data) // 2])


def test_truncated_header():
    assert "could not be read" in _msg(_wav(_tone())[:30])


def test_corrupt_flac():
    data = bytearray(_sf_bytes(_tone(seconds=2.0), 22050, "FLAC"))
    data[200:] = bytes(len(data) - 200)  # keep the header, zero the frames
    msg = _msg(bytes(data), "c.flac")
    assert "could not be read" in msg or "cut short" in msg or "silent" in msg


def test_random_bytes():
    rng = np.random.default_rng(0)
    assert "does not look like a recording" in _msg(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())


def test_silence():
    assert "silent" in _msg(_wav(np.zeros(22050)))


def test_two_hour_header_is_refused_before_decoding():
    # A header that promises two hours at 8 kHz; the samples are not there, but the length check comes first.
    sr, n = 8000, 8000 * 7200
    header = b"RIFF" + struct.pack("<I", 36 + n * 2) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, sr, sr * 2, 2, 16)
    header += b"data" + struct.pack("<I", n * 2)
    msg = _msg(header + bytes(4000))
    assert "2 hours" in msg and "15 minutes" in msg


def test_too_long_with_a_small_limit():
    assert "longer than" in _msg(_wav(_tone(seconds=2.0)), max_seconds=1.0)


def test_too_big():
    assert "MB" in _msg(_wav(_tone()), max_bytes=1000)


def test_eight_channels():
    assert "8 channels" in _msg(_wav(np.tile(_tone()[:, None], (1, 8))))


def test_192k():
    assert "192,000 Hz" in _msg(_wav(_tone(192000, 0.5), 192000))


@pytest.mark.parametrize(
    "head,what",
    [
        (b"\x00\x00\x00\x20ftypisom" + bytes(100), "video"),
        (b"\x1aE\xdf\xa3" + bytes(100), "video"),
        (b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(100), "AVI video"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG"),
        (b"MThd\x00\x00\x00\x06" + bytes(100), "MIDI"),
    ],
)
def test_video_or_other_file_renamed_wav(head, what):
    assert what in _msg(head)


def test_unsupported_extension():
    assert "not an audio format" in _msg(_wav(_tone()), "x.mp4")


def test_bad_parameters():
    with pytest.raises(ParameterError):
        audio.load_audio_bytes("text", "x.wav")
    with pytest.raises(ParameterError):
        audio.AudioLimits(max_channels=0)
    with pytest.raises(ParameterError):
        audio.load_audio_bytes(b"x", "x.wav", limits="big")


def test_frames_cover_the_clip_and_pad():
    clip = audio.Clip(waveform=np.arange(10, dtype=np.float32), sample_rate=2)
    w, starts = audio.frames(clip, seconds=2.0, hop_seconds=1.0)
    assert w.shape == (4, 4)
    np.testing.assert_array_equal(starts, [0, 1, 2, 3])
    np.testing.assert_array_equal(w[-1], [6, 7, 8, 9])
    w, starts = audio.frames(clip, seconds=4.0, hop_seconds=4.0)
    np.testing.assert_array_equal(w[-1], [8, 9, 0, 0, 0, 0, 0, 0])


def test_to_wav_bytes_round_trip():
    x = _tone().astype(np.float32)
    clip = audio.load_audio_bytes(audio.to_wav_bytes(x), "r.wav")
    np.testing.assert_allclose(clip.waveform, x, atol=1e-4)

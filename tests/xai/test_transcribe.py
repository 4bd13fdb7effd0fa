"""Transcription with basic-pitch: known tones come back as the right pitches, marked as transcribed."""


import numpy as np
import pytest

from xai import audio, transcribe
from xai.errors import InputError, ParameterError

needs_bp = pytest.mark.skipif(not transcribe.available(), reason="basic-pitch is not installed")


def _arpeggio() -> audio.Clip:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=0)
    for i, p in enumerate([60, 64, 67, 72, 67, 64, 60]):
        inst.notes.append(pretty_midi.Note(90, p, 0.5 * i, 0.5 * i + 0.45))
    pm.instruments.append(inst)
    x = pm.synthesize(fs=22050).astype(np.float32)
    return audio.load_audio_bytes(audio.to_wav_bytes(0.5 * x / np.abs(x).max()), "arpeggio.wav")


@needs_bp
def test_sine_arpeggio_is_transcribed_to_its_pitches():
    piece = transcribe.transcribe(_arpeggio())
    assert "(transcribed)" in piece.title and "(transcribed)" in piece.source.name
    assert set(piece.pitches.tolist()) >= {60, 64, 67, 72}
    assert 5 <= piece.n_notes <= 10


@needs_bp
def test_noise_only_is_a_plain_error(rng):
    x = (rng.standard_normal(22050) * 1e-3).astype(np.float32)
    clip = audio.Clip(waveform=x, sample_rate=22050, title="hiss")
    try:
        transcribe.transcribe(clip)
    except InputError as e:
        assert "nothing to transcribe" in str(e) or "no pitched notes" in str(e)


def test_options_are_validated():
    with pytest.raises(ParameterError):
        transcribe.TranscribeOptions(onset_threshold=2.0)
    with pytest.raises(ParameterError):
        transcribe.transcribe(audio.Clip(np.zeros(10, np.float32), 22050), options={"onset_threshold": 0.5})

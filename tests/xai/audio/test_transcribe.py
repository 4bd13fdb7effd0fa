"""Transcription with basic-pitch: known tones come back as the right pitches, marked as transcribed."""


import numpy as np
import pytest

from xai.audio import clip as audio
from xai.audio import transcribe
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
    # Each played note (every half second = every beat at 120 qpm) is heard at its pitch within a tenth of a beat.
    for i, p in enumerate([60, 64, 67, 72, 67, 64, 60]):
        assert np.any((piece.pitches == p) & (np.abs(piece.onsets - i) < 0.1)), (i, p)


@needs_bp
def test_the_network_sees_what_basic_pitch_itself_would(tmp_path):
    """Our windows, cut from the clip and run in batches, give basic-pitch's own activations for the same audio."""
    from basic_pitch import inference

    clip = _arpeggio()
    clip = audio.Clip(np.tile(clip.waveform, 6), clip.sample_rate)  # 21 s: 13 windows, more than one batch
    assert clip.duration_seconds > (transcribe._BATCH + 1) * 1.7
    path = tmp_path / "arpeggio.wav"
    path.write_bytes(audio.to_wav_bytes(clip.waveform))
    net = transcribe._basic_pitch()
    with transcribe._quiet():
        theirs = inference.run_inference(path, inference.Model(inference.ICASSP_2022_MODEL_PATH))
    # basic-pitch reads the 16-bit file back through librosa (samples / 32768): give ours the very same samples.
    samples = np.round(np.clip(clip.waveform, -1, 1) * 32767).astype(np.float32) / 32768
    ours = transcribe._model_output(net, samples)
    assert set(ours) == set(theirs)
    for k in ours:
        assert ours[k].shape == theirs[k].shape
        np.testing.assert_allclose(ours[k], theirs[k], atol=1e-4)


@needs_bp
def test_the_network_is_loaded_once_and_a_clip_at_another_rate_is_refused():
    assert transcribe._basic_pitch() is transcribe._basic_pitch()
    with pytest.raises(ParameterError, match="22050 Hz"):
        transcribe.transcribe(audio.Clip(np.zeros(44100, np.float32), 44100))


@needs_bp
@pytest.mark.parametrize("n_samples", [0, 100, 22050])
def test_silence_or_a_too_short_clip_is_a_plain_error(n_samples):
    with pytest.raises(InputError, match="nothing to transcribe"):
        transcribe.transcribe(audio.Clip(np.zeros(n_samples, np.float32), 22050, title="silence"))


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


def test_describe_and_is_transcribed_read_the_transcribed_title_and_file_name():
    import dataclasses

    from tests._fakes import scale_piece
    from xai.symbolic import music

    src = music.Source.from_bytes("take 1 (transcribed).mid", "midi", b"x")
    piece = dataclasses.replace(scale_piece(2), title="take 1 (transcribed)", source=src, tempi=((0.0, 120.0),))
    assert transcribe.is_transcribed(piece)
    text = transcribe.describe(piece)
    assert "*take 1*" in text and "120 quarter notes a minute" in text and "(transcribed)" not in text
    midi = dataclasses.replace(piece, source=music.Source.from_bytes("take 1.mid", "midi", b"x"))
    assert not transcribe.is_transcribed(midi)
    assert transcribe.is_transcribed(dataclasses.replace(piece, source=None))  # no file at all: no score either

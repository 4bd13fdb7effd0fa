"""The shipped example recordings: listed in order, found by title, read through the upload loader."""

import json

import pytest

from xai.audio import clip as audio
from xai.audio import examples as ex
from xai.errors import InputError


def test_the_shipped_examples_load_as_clips():
    entries = ex.audio_examples()
    if not entries:
        pytest.skip("no example recordings ship with this checkout")
    assert ex.titles() == [e["title"] for e in entries]
    info = ex.example_info(entries[0]["title"])
    assert {"file", "class", "instrument", "renderer", "source"} <= set(info)
    data, name = ex.example_file(entries[0]["title"])
    assert name == entries[0]["file"]
    clip = audio.load_audio_bytes(data, name)
    assert clip.sample_rate == audio.SAMPLE_RATE and audio.clip_key(clip) == clip.source.sha256


def test_a_missing_or_damaged_list_means_no_examples(tmp_path):
    assert ex.audio_examples(tmp_path) == []
    (tmp_path / ex.INDEX_FILE).write_text("{not json")
    assert ex.audio_examples(tmp_path) == []
    (tmp_path / ex.INDEX_FILE).write_text(json.dumps([{"file": "a.wav", "title": "A"}, {"title": "no file"}, 3]))
    assert ex.titles(tmp_path) == ["A"]


def test_an_unknown_title_is_a_plain_message(tmp_path):
    (tmp_path / ex.INDEX_FILE).write_text(json.dumps([{"file": "a.wav", "title": "A"}]))
    with pytest.raises(InputError, match="no example recording called 'B'. Examples: A"):
        ex.example_info("B", tmp_path)


def test_a_clip_without_a_file_is_keyed_by_itself():
    import numpy as np

    a = audio.Clip(waveform=np.zeros(10, np.float32), sample_rate=audio.SAMPLE_RATE)
    b = audio.Clip(waveform=np.zeros(10, np.float32), sample_rate=audio.SAMPLE_RATE)
    assert audio.clip_key(a) != audio.clip_key(b) and audio.clip_key(a) == audio.clip_key(a)


def test_which_models_heard_an_examples_renderer_follows_their_data_version():
    examples = ex
    v1, v2 = {"data_version": 1}, {"data_version": 2}
    assert examples.training_soundfonts({}) == ("timgm6mb", "merlin")
    assert "fluidr3" in examples.training_soundfonts(v2) and "fluidr3" not in examples.training_soundfonts(v1)
    assert examples.heard_by({"renderer": "fluidr3"}, {"new": v2, "old": v1}) == (["new"], ["old"])
    assert examples.heard_by({"renderer": "sine"}, {"new": v2, "old": v1}) == ([], ["new", "old"])
    assert examples.heard_by({"renderer": "timgm6mb"}, {"new": v2, "old": v1}) == (["new", "old"], [])

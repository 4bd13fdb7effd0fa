"""The audio data set on a tiny synthetic corpus: render, keep each clip's score, split by piece; then train."""

import json

import numpy as np
import pytest

from models import audio_nets, registry
from tests._fakes import record as _record
from training import train_audio
from xai.audio import dataset as audio_data
from xai.audio import midlevel
from xai.symbolic import dataset as data


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    recs, labels = [], []
    for c in range(len(data.CLASSES)):
        for k in range(4):
            recs.append(_record(f"c{c}/p{k}", n_bars=6, pitch0=40 + 6 * c, n_parts=1 + c % 2))
            labels.append(c)
    table = data.PieceTable.from_records(recs, labels)
    root = tmp_path_factory.mktemp("audio")
    meta = audio_data.build(table, out=root, clips_per_class={"train": 2, "val": 1, "test": 1},
                            soundfonts=("timgm6mb",), heldout=False, progress=lambda *a: None)
    return table, root, meta


def test_render_writes_every_split_with_scores(rendered):
    table, root, meta = rendered
    assert json.loads((root / "meta.json").read_text())["splits"].keys() == {"train", "val", "test"}
    tr = audio_data.load("train", root=root)
    assert len(tr) == 2 * len(data.CLASSES)
    assert tr.waves.shape == (len(tr), audio_data.CLIP_SAMPLES) and tr.waves.dtype == np.int16
    w = tr.waveform(0)
    assert w.dtype == np.float32 and 0.01 < np.sqrt(np.mean(w**2)) < 0.5  # audible, not clipped to bits
    # every clip's score gives back exactly the mid-level features stored with it
    for i in range(len(tr)):
        s = tr.score(i)
        assert s.n_notes >= audio_data.MIN_NOTES
        np.testing.assert_allclose(midlevel.features(s, audio_data.CLIP_SECONDS), tr.midlevel[i], rtol=1e-5)
        lo, hi = audio_data.INSTRUMENTS[tr.instrument[i]][2:]
        assert lo <= s.pitches.min() and s.pitches.max() <= hi
    # instruments cycle within a class
    assert len(np.unique(tr.instrument[tr.style == 0])) == 2


def test_split_is_by_piece_like_the_symbolic_model(rendered):
    table, root, _ = rendered
    sp = data.split(table)
    for name in ("train", "val", "test"):
        assert set(audio_data.load(name, root=root).piece) <= set(sp[name].tolist())


def test_render_is_reproducible(rendered, tmp_path):
    table, root, _ = rendered
    audio_data.build(table, out=tmp_path, clips_per_class={"train": 2, "val": 1, "test": 1},
                     soundfonts=("timgm6mb",), heldout=False, progress=lambda *a: None)
    np.testing.assert_array_equal(audio_data.load("test", root=root).waves, audio_data.load("test", root=tmp_path).waves)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["style_midlevel", "style_adversarial", "instrument_conv"])
def test_training_writes_a_card_the_registry_loads(rendered, tmp_path, monkeypatch, name):
    _, root, _ = rendered
    params = train_audio.DEFAULTS | {"epochs": 1, "width": 2, "batch_size": 4, "pgd_steps": 1}
    card = train_audio.train(name, params, root=root, out_dir=tmp_path, progress=lambda *a: None)
    assert json.loads((tmp_path / f"{name}.json").read_text()) == card
    classes = audio_data.INSTRUMENT_NAMES if name.startswith("instrument") else data.CLASSES
    assert card["modality"] == "audio" and set(card["metrics"]["test"]["per_class_f1"]) == set(classes)
    assert 0 <= card["metrics"]["test_pgd"]["attacked_accuracy"] <= 1
    if name == "style_midlevel":
        assert set(card["midlevel"]["class_weights"][data.CLASSES[0]]) == set(midlevel.FEATURES)
    again = train_audio.refresh_robustness(name, root=root, out_dir=tmp_path)
    assert again["metrics"]["test_pgd"] == card["metrics"]["test_pgd"]  # same weights, same seed
    monkeypatch.setattr(registry, "ASSETS", tmp_path)
    registry.load.cache_clear()
    try:
        assert name in registry.available("audio") and name not in registry.available()
        m = registry.load(name)
        assert m.weights_sha256 == card["weights_sha256"]
        if name == "instrument_conv":  # the conv front-end is rebuilt from the card, with its learned taps
            assert isinstance(m.net.front, audio_nets.ConvFrontEnd) and "Conv1d" in card["input"]["front_end"]
    finally:
        registry.load.cache_clear()

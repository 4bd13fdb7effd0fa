"""The out-of-distribution calibration of a model trained on the five-soundfont cache (training.ood)."""

import json

import numpy as np

from models import audio_nets
from tests._fakes import FakeAudioModel
from tests._fakes import record as _record
from training import ood as ood_build
from xai.audio import dataset as audio_data
from xai.symbolic import dataset as data


def test_calibration_from_the_cache_sets_the_threshold_on_the_unheard_renderer(tmp_path, monkeypatch):
    recs, labels = [], []
    for c in range(len(data.CLASSES)):
        for k in range(12):
            recs.append(_record(f"c{c}/p{k}", n_bars=6, pitch0=40 + 5 * c))
            labels.append(c)
    table = data.PieceTable.from_records(recs, labels)
    root = tmp_path / "audio"
    audio_data.build(table, out=root, clips_per_class={"train": 3, "val": 1, "test": 2}, soundfonts=("timgm6mb",),
                     progress=lambda *a: None)
    load = audio_data.load
    monkeypatch.setattr(audio_data, "load", lambda split, root=root: load(split, root=root))
    net = audio_nets.build({"type": "AudioCNN", "width": 2, "front_end": "mel", "n_bands": audio_nets.N_BANDS,
                            "classes": list(audio_data.INSTRUMENT_NAMES)})
    model = FakeAudioModel(net, audio_data.INSTRUMENT_NAMES, name="instrument")
    (tmp_path / "instrument.json").write_text(json.dumps({"task": "instrument", "data_version": 2}))
    monkeypatch.setattr(ood_build.registry, "ASSETS", tmp_path)
    monkeypatch.setattr(ood_build.registry, "load", lambda name: model)
    saved = []
    monkeypatch.setattr(ood_build.ood, "save", saved.append)
    assert ood_build.data_version("instrument") == 2
    sounds = ood_build.not_music(np.random.default_rng(0), n=2)
    measured = ood_build.calibrate_from_cache("instrument", sounds, {}, soundfont="timgm6mb",
                                              progress=lambda *a: None)
    cal, te = saved[0], audio_data.load("test")
    held = ood_build.ood.embed_windows(ood_build.cache_heldout(te, "timgm6mb", progress=lambda *a: None), net)
    half = te.piece % 2
    assert cal.threshold == np.quantile(cal.distance(held[half == 0]), cal.quantile)  # set on the calibration half
    h = measured["timgm6mb (held out), evaluation half"]
    assert h["n"] == int(np.sum(half == 1)) and measured["training soundfonts, test clips"]["n"] == len(te)
    assert measured["training clips"]["n"] == len(audio_data.load("train")) and "white noise" in measured
    assert cal.measured == measured and "never heard" in cal.heldout_soundfont

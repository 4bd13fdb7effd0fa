"""The audio data set on a tiny synthetic corpus: render, keep each clip's score, split by piece; then train."""

import hashlib
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

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
                     soundfonts=("timgm6mb",), heldout=False, workers=2, progress=lambda *a: None)  # in parallel
    for split in ("train", "test"):
        np.testing.assert_array_equal(audio_data.load(split, root=root).waves,
                                      audio_data.load(split, root=tmp_path).waves)


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


@pytest.mark.slow
def test_seed_replicas_train_from_the_shipped_recipe_and_load(rendered, tmp_path, monkeypatch):
    from training import robustness_seeds
    from xai.attacks import robustness

    _, root, _ = rendered
    monkeypatch.setattr(robustness, "SEEDS_DIR", tmp_path)
    tiny = {"epochs": 1, "width": 2, "batch_size": 4, "pgd_steps": 1, "eq_db": 12.0, "band_stop": 0.5,
            "time_mask": 0.5}
    for name in robustness_seeds.KINDS:  # style_audio first: the adversarial replica starts from it
        card = robustness_seeds.train_replica(name, 1, root=root, overrides=tiny, progress=lambda *a: None)
        shipped = registry.card(name)["training"]["params"]
        assert card["training"]["params"]["seed"] == shipped["seed"] + 1
        assert card["training"]["params"]["init_from"] == shipped["init_from"]
        assert card["replica_of"] == name and 0 <= card["metrics"]["test"]["accuracy"] <= 1
    assert robustness.replica_seeds() == [0, 1]
    registry.load.cache_clear()
    try:
        m = registry.load("style_adversarial", folder=robustness.seed_folder(1))
        assert m.weights_sha256 == json.loads((tmp_path / "seed1" / "style_adversarial.json").read_text())[
            "weights_sha256"]
    finally:
        registry.load.cache_clear()


def test_round_robin_gives_every_instrument_every_soundfont(rendered):
    table, _, _ = rendered
    sfs = ("a", "b", "c", "d", "e")
    specs = audio_data.plan(table, np.arange(len(table)), 50, seed=3, soundfonts=sfs)
    for c in range(len(data.CLASSES)):
        pairs = {(s.instrument, s.soundfont) for s in specs if s.style == c}
        assert pairs == {(i, f) for i in range(len(audio_data.INSTRUMENTS)) for f in sfs}
    plain = audio_data.plan(table, np.arange(len(table)), 50, seed=3, soundfonts=sfs, rotate=False)
    assert len({(s.instrument, s.soundfont) for s in plain if s.style == 0}) < 50  # why rotation is needed


def test_recording_augmentation_is_seeded_and_sets_the_level():
    t = np.arange(audio_data.CLIP_SAMPLES) / audio_data.SAMPLE_RATE
    x = (0.3 * np.sin(2 * np.pi * 440 * t) * (t < 3.0)).astype(np.float32)
    a, info = audio_data.augment_recording(x, np.random.default_rng(5))
    b, _ = audio_data.augment_recording(x, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert -50 <= info["cents"] <= 50 and -3 <= info["tilt_db_per_octave"] <= 3
    levels = []
    for s in range(12):
        y, info = audio_data.augment_recording(x, np.random.default_rng(s))
        levels.append(20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2))))
        assert abs(levels[-1] - info["gain_db"]) < 1.0  # noise 15 dB or more below the music
        assert info["reverb_rt60"] == 0 or 0.2 <= info["reverb_rt60"] <= 1.6
    assert np.ptp(levels) > 3  # the level varies, so loudness cannot tell instruments apart
    # the speed change moves the pitch by the drawn cents
    y, info = audio_data.augment_recording(x, np.random.default_rng(1))
    spec = np.abs(np.fft.rfft(y[: 2 * audio_data.SAMPLE_RATE]))
    f0 = np.fft.rfftfreq(2 * audio_data.SAMPLE_RATE, 1 / audio_data.SAMPLE_RATE)[np.argmax(spec)]
    assert abs(1200 * np.log2(f0 / 440) - info["cents"]) < 5


def test_eq_tilt_boosts_one_end():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(audio_data.CLIP_SAMPLES)
    f = np.fft.rfftfreq(x.size, 1 / audio_data.SAMPLE_RATE)
    for tilt in (3.0, -3.0):
        gain = np.abs(np.fft.rfft(audio_data._tilt(x, tilt))) / np.abs(np.fft.rfft(x))
        ratio_db = 20 * np.log10(np.median(gain[(f > 7000) & (f < 9000)]) / np.median(gain[(f > 200) & (f < 300)]))
        assert abs(ratio_db - tilt * np.log2(8000 / 250)) < 0.5


def test_leave_one_soundfont_out_reports_folds_and_the_card_shows_them(rendered, tmp_path):
    _, root, _ = rendered
    for split in ("train", "val", "test"):  # pretend two soundfonts alternate (the tests install none)
        z = dict(np.load(root / f"{split}.npz"))
        z["soundfont"] = np.arange(z["style"].size) % 2
        np.savez(tmp_path / f"{split}.npz", **z)
    (tmp_path / "meta.json").write_text((root / "meta.json").read_text())
    params = train_audio.DEFAULTS | {"epochs": 1, "width": 2, "batch_size": 4}
    quiet = lambda *a: None  # noqa: E731
    assert train_audio.run_loso("instrument", params, folds=[0], root=tmp_path, out_dir=tmp_path, docs=None,
                          progress=quiet) is None  # one fold of two: no summary yet
    s = train_audio.run_loso("instrument", params, folds=[1], root=tmp_path, out_dir=tmp_path, docs=tmp_path,
                       progress=quiet)
    assert s["soundfonts"] == ["timgm6mb", "merlin"] and len(s["folds"]) == 2
    te = audio_data.load("test", root=tmp_path)
    assert [f["heldout"]["n"] for f in s["folds"]] == [int(np.sum(te.soundfont == k)) for k in (0, 1)]
    held = [f["heldout"]["accuracy"] for f in s["folds"]]
    assert s["heldout_accuracy"]["mean"] == pytest.approx(np.mean(held), abs=1e-4)
    assert s["gap_points"]["mean"] == pytest.approx(
        100 * (s["in_soundfont_accuracy"]["mean"] - s["heldout_accuracy"]["mean"]), abs=0.02)
    assert set(s["per_class_accuracy"]) == set(audio_data.INSTRUMENT_NAMES) and s["params"] == params
    assert "Leave-one-soundfont-out" in (tmp_path / "audio_loso.md").read_text()
    card = train_audio.train("instrument", params, root=tmp_path, out_dir=tmp_path, progress=quiet)
    assert card["loso"]["gap_points"] == s["gap_points"]
    md = (tmp_path / "instrument.md").read_text()
    assert "## Leave-one-soundfont-out" in md and f"{s['gap_points']['mean']:.1f} +- " in md
    g = s["gap_points"]
    assert list(g["per_fold"]) == ["timgm6mb", "merlin"] and g["ci95"][0] <= g["mean"] <= g["ci95"][1]
    assert g["folds_within_goal"] == sum(v <= 5.0 for v in g["per_fold"].values())
    assert card["loso"]["same_recipe"] and card["metrics"]["test_heldout_soundfont"]["accuracy"] == pytest.approx(
        s["heldout_accuracy"]["mean"])
    # folds of an earlier recipe (other augmentation) describe that recipe, not the shipped weights
    earlier = json.loads((tmp_path / "instrument.loso.json").read_text())
    earlier["params"] = {k: v for k, v in earlier["params"].items() if k != "eq_db"} | {"gain_db": 3.0}
    (tmp_path / "instrument.loso.json").write_text(json.dumps(earlier))
    card = json.loads((tmp_path / "instrument.json").read_text())
    card["training"]["params"]["eq_db"] = 12.0
    (tmp_path / "instrument.json").write_text(json.dumps(card))
    card = train_audio.attach_loso("instrument", out_dir=tmp_path)
    assert not card["loso"]["same_recipe"] and "test_heldout_soundfont" not in card["metrics"]
    assert card["loso"]["params_differ_from_final"] == {"gain_db": 3.0, "eq_db": "absent"}
    assert "EARLIER recipe" in (tmp_path / "instrument.md").read_text()


def test_a_fine_tuned_models_folds_start_from_the_same_folds_weights(rendered, tmp_path):
    """style_adversarial is fine-tuned from style_audio: each fold must start from style_audio's weights of that
    fold (which never heard the held-out soundfont), not from the shipped ones, and refuses to run without them."""
    _, root, _ = rendered
    for split in ("train", "val", "test"):
        z = dict(np.load(root / f"{split}.npz"))
        z["soundfont"] = np.arange(z["style"].size) % 2
        np.savez(tmp_path / f"{split}.npz", **z)
    (tmp_path / "meta.json").write_text((root / "meta.json").read_text())
    base = train_audio.DEFAULTS | {"epochs": 1, "width": 2, "batch_size": 4}
    tuned = base | {"init_from": "style_audio", "pgd_steps": 1}
    quiet = lambda *a: None  # noqa: E731
    with pytest.raises(SystemExit, match="run that model's fold timgm6mb first"):
        train_audio.run_loso("style_adversarial", tuned, folds=[0], root=tmp_path, out_dir=tmp_path, docs=None,
                             progress=quiet)
    s0 = train_audio.run_loso("style_audio", base, root=tmp_path, out_dir=tmp_path, docs=None, progress=quiet)
    s = train_audio.run_loso("style_adversarial", tuned, root=tmp_path, out_dir=tmp_path, docs=tmp_path, progress=quiet)
    for k, sf in enumerate(("timgm6mb", "merlin")):
        start = train_audio.fold_weights("style_audio", sf, root=tmp_path)
        assert s["folds"][k]["init_weights_sha256"] == hashlib.sha256(start.read_bytes()).hexdigest()
        own = load_file(str(train_audio.fold_weights("style_adversarial", sf, root=tmp_path)))
        assert set(own) == set(load_file(str(start)))
    a, b = (train_audio.fold_weights("style_audio", sf, root=tmp_path).read_bytes() for sf in ("timgm6mb", "merlin"))
    assert a != b  # two folds, two starting points
    assert "same fold" in s["starts_from"] and s["reproduce"].startswith(s0["reproduce"] + " && ")
    assert "Fine-tuned:" in (tmp_path / "audio_loso_style_adversarial.md").read_text()


def test_start_shifted_accuracy_catches_a_model_that_needs_the_onset_at_sample_zero():
    sr = audio_nets.SAMPLE_RATE
    x = np.zeros((6, 2 * sr), np.float32)
    x[:, : sr // 2] = 0.5  # a note in the first half second, then silence

    class Clips:
        def __len__(self):
            return len(x)

        def waveform(self, i):
            return x[i]

    class NeedsOnset(torch.nn.Module):  # says "class 1" only when the window starts sounding
        def forward(self, w):
            return torch.stack([-(w[:, 0] != 0).float(), (w[:, 0] != 0).float()], dim=1)

    r = train_audio.start_shifted_accuracy(NeedsOnset(), Clips(), np.ones(6, int), batch=4)
    assert (r["as_rendered"], r["late"], r["rotated"], r["n"]) == (1.0, 0.0, 0.0, 6)
    assert r["truncated"] == 1.0  # the control: same silent last second, but starting on the onset
    cost = r["onset_cost_points"]
    assert cost["late_vs_truncated"]["mean"] == 100.0 and cost["rotated_vs_as_rendered"]["mean"] == 100.0
    assert r["late_per_class"] == [None, 0.0]


def test_paired_points_has_an_interval_that_excludes_zero_only_for_a_real_drop():
    rng = np.random.default_rng(0)
    before = (rng.random(900) < 0.9).astype(float)
    after = before.copy()
    after[:200] = 0.0  # about 18 points lost on the same clips
    drop = train_audio.paired_points(before, after)
    assert drop["ci95"][0] > 10 and drop["ci95"][0] < drop["mean"] < drop["ci95"][1]
    same = train_audio.paired_points(before, rng.permutation(before))  # no systematic change
    assert same["ci95"][0] < 0 < same["ci95"][1]

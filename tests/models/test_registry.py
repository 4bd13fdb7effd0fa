import json
import shutil

import pytest
import torch

from models import registry
from xai.errors import InputError


def test_shipped_model_loads_in_eval_mode_with_card():
    assert "composer" in registry.available()
    m = registry.load("composer")
    assert not m.net.training
    assert m.classes == ("bach", "palestrina", "monteverdi", "trecento", "classical", "folk")
    assert m.default_layer in m.layers
    assert len(m.weights_sha256) == 64
    out = m.net(torch.zeros(1, 2, 88, 64))
    assert out.shape == (1, 6)


def test_unknown_model_is_a_plain_error():
    with pytest.raises(InputError, match="no model called"):
        registry.load("nope")


def test_weights_that_do_not_match_the_card_are_refused(tmp_path, monkeypatch):
    for ext in ("json", "safetensors"):
        shutil.copy(registry.ASSETS / f"composer.{ext}", tmp_path / f"tampered.{ext}")
    card = json.loads((tmp_path / "tampered.json").read_text())
    card["weights_sha256"] = "0" * 64
    (tmp_path / "tampered.json").write_text(json.dumps(card))
    monkeypatch.setattr(registry, "ASSETS", tmp_path)
    registry.load.cache_clear()
    try:
        with pytest.raises(InputError, match="do not match"):
            registry.load("tampered")
    finally:
        registry.load.cache_clear()


def test_a_model_loads_from_another_folder_with_the_same_hash_check(tmp_path):
    for ext in ("json", "safetensors"):
        shutil.copy(registry.ASSETS / f"composer.{ext}", tmp_path / f"composer.{ext}")
    m = registry.load("composer", folder=tmp_path)
    assert m.weights_sha256 == registry.load("composer").weights_sha256
    card = json.loads((tmp_path / "composer.json").read_text())
    card["weights_sha256"] = "0" * 64
    (tmp_path / "composer.json").write_text(json.dumps(card))
    registry.load.cache_clear()
    try:
        with pytest.raises(InputError, match="do not match"):
            registry.load("composer", folder=tmp_path)
    finally:
        registry.load.cache_clear()


def test_lookup_walks_nested_keys_and_answers_none_where_a_level_is_missing():
    card = {"metrics": {"test": {"accuracy": 0.8}}, "classes": ["a"]}
    assert registry.lookup(card, "metrics", "test", "accuracy") == 0.8
    assert registry.lookup(card, "metrics", "cv", "accuracy") is None
    assert registry.lookup(card, "classes", "a") is None  # a list is not walked into
    assert registry.lookup(card) is card


def test_summary_row_and_picker_label_read_every_shipped_card():
    for name in registry.available("symbolic") + registry.available("audio"):
        card, h = registry.card(name), registry.headline(registry.card(name))
        row = registry.summary_row(name)
        assert row["model"] == name and row["classes"] == len(card["classes"])
        assert row["test accuracy"] == h["accuracy"] and row["measured on"].endswith(h["unit"])
        label = registry.picker_label(name)
        assert label.endswith(card["title"])
        acc = registry.lookup(card, "metrics", "test", "accuracy")
        if acc is not None:
            assert label.startswith(f"{acc:.0%} right (chance {1 / len(card['classes']):.0%}) · ")
    assert registry.picker_label("composer").endswith(f"Styles across eras: {registry.card('composer')['title']}")
    assert "cross-validated by work" in registry.picker_label("piano_composer")


def test_outdated_models_names_results_computed_with_other_weights():
    now = registry.card("instrument")["weights_sha256"]
    record = {"style": [{"model": "composer", "weights_sha256": registry.card("composer")["weights_sha256"]}],
              "instrument": {"model": "instrument", "weights_sha256": "0" * 64, "inner": {"model": "gone", "weights_sha256": "x"}}}
    assert registry.outdated_models(record) == ["instrument"]  # an unknown model is not ours to judge
    record["instrument"]["weights_sha256"] = now
    assert registry.outdated_models(record) == []

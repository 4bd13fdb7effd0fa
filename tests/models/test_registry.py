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

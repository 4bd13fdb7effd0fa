"""The training script end to end on a tiny synthetic corpus: weights + a complete card that the registry loads."""

import json

import numpy as np
import pytest

from models import registry
from tests._fakes import record as _record
from training import train
from xai.symbolic import dataset as data


@pytest.mark.slow
def test_training_writes_loadable_weights_and_an_honest_card(tmp_path, monkeypatch):
    recs, labels = [], []
    for c in range(len(data.CLASSES)):
        for k in range(8):
            # Each class lives in its own register, so even one epoch learns something.
            recs.append(_record(f"c{c}/p{k}", n_bars=8, pitch0=30 + 10 * c, n_parts=1 + c % 2))
            labels.append(c)
    table = data.PieceTable.from_records(recs, labels)
    monkeypatch.setattr(data, "build", lambda **kw: table)
    params = train.DEFAULTS | {"epochs": 2, "width": 4, "train_cap_per_class": 20, "val_cap_per_class": 10,
                               "batch_size": 16, "threads": 1}
    card = train.train_composer(params, out_dir=tmp_path, name="tiny", progress=lambda *a: None)

    saved = json.loads((tmp_path / "tiny.json").read_text())
    assert saved == card
    test_ids = set(card["split"]["test_pieces"])
    train_ids = {table.ids[i] for i in data.split(table)["train"]}
    assert test_ids and not (test_ids & train_ids)
    for key in ("window_accuracy", "piece_accuracy", "piece", "window"):
        assert key in card["metrics"]["test"]
    assert set(card["metrics"]["test"]["piece"]["per_class_f1"]) == set(data.CLASSES)
    assert np.array(card["metrics"]["test"]["piece"]["confusion"]).sum() == len(test_ids)
    assert 0 <= card["baseline"]["test"]["piece_accuracy"] <= 1
    assert card["training"]["params"]["epochs"] == 2 and len(card["training"]["history"]) == 2
    assert "monophonic" in " ".join(card["confounds"])
    assert "| piece accuracy |" in (tmp_path / "tiny.md").read_text()

    monkeypatch.setattr(registry, "ASSETS", tmp_path)
    registry.load.cache_clear()
    try:
        m = registry.load("tiny")
        assert m.weights_sha256 == card["weights_sha256"]
    finally:
        registry.load.cache_clear()

"""training.discovery_set: the shipped excerpt corpus of concept discovery, built from a small fake corpus table."""

import numpy as np
import pytest

from tests._fakes import record
from training import discovery_set
from xai.concepts import discovery
from xai.symbolic import dataset as data
from xai.symbolic import music


@pytest.fixture
def table():
    recs, labels = [], []
    for c, name in enumerate(data.CLASSES):
        for k in range(4):
            recs.append(record(f"{name}/p{k}.mxl", n_bars=8 + 2 * c, pitch0=48 + 3 * c, n_parts=1 + c % 3))
            labels.append(c)
    return data.PieceTable.from_records(recs, labels)


def test_choice_is_balanced_seeded_and_in_corpus_order(table):
    found = discovery_set.candidates(table, np.arange(len(table)))
    chosen = discovery_set.choose(table, found, per_class=5)
    labels = [table.labels[i] for i, _ in chosen]
    assert np.bincount(labels).tolist() == [5] * len(data.CLASSES)
    assert chosen == discovery_set.choose(table, found, per_class=5)
    assert [(i, w.start_beat) for i, w in chosen] == sorted((i, w.start_beat) for i, w in chosen)


def test_the_set_keeps_the_models_rolls_provenance_and_notes(tmp_path, table):
    found = discovery_set.candidates(table, np.arange(len(table)))
    chosen = discovery_set.choose(table, found, per_class=3)
    ex = discovery_set.build_set(table, chosen, meta={"made_by": "test"})
    ex.save(tmp_path / "ex.npz")
    ex = discovery.load_excerpts(tmp_path / "ex.npz")
    assert len(ex) == 3 * len(data.CLASSES) and ex.classes == data.CLASSES
    for k, (i, w) in enumerate(chosen):
        piece = table.piece(i)
        wins, X = music.encode(piece, hop=discovery_set.HOP)
        assert np.array_equal(ex.X[k], X[w.index].astype(np.uint8))  # the window the model reads
        assert ex.piece_ids[k] == table.ids[i] and ex.composers[k] == table.ids[i].split("/")[0]
        assert (ex.start_bar[k], ex.end_bar[k]) == (w.start_bar, w.end_bar)
        # Its notes, drawn again as a roll, give the same roll.
        assert np.array_equal(music.piano_roll(ex.piece(k), n_steps=64), X[w.index])
    assert ex.meta["made_by"] == "test"

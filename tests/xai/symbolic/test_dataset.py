import numpy as np
import pytest

from tests._fakes import record as _record
from xai.symbolic import dataset as data


@pytest.fixture
def table():
    recs, labels = [], []
    for c in range(len(data.CLASSES)):
        for k in range(10):
            recs.append(_record(f"c{c}/p{k}", n_bars=6 + 4 * c, pitch0=48 + 3 * c, n_parts=1 + c % 3))
            labels.append(c)
    return data.PieceTable.from_records(recs, labels)


def test_class_files_are_music_and_disjoint():
    files = data.corpus_files()
    assert set(files) == set(data.CLASSES)
    every = [f for fs in files.values() for f in fs]
    assert len(every) == len(set(every)), "a file in two classes"
    assert not any(f.endswith(".rntxt") for f in every)
    assert not any("k545" in f for f in files["classical"])
    assert all(not f.endswith(".krn") for f in files["classical"])  # op. 18 no. 1 ships twice
    assert len(files["palestrina"]) == data.PALESTRINA_FILES
    assert files == data.corpus_files()  # seeded: the same selection every time


def test_split_is_by_piece_disjoint_complete_and_seeded(table):
    sp = data.split(table)
    sets = [set(v.tolist()) for v in sp.values()]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert set().union(*sets) == set(range(len(table)))
    for v in sp.values():
        assert set(table.labels[v]) == set(range(len(data.CLASSES)))  # every class in every split
    again = data.split(table)
    assert all(np.array_equal(sp[k], again[k]) for k in sp)
    other = data.split(table, random_state=1)
    assert not all(np.array_equal(sp[k], other[k]) for k in sp)


def test_window_set_caps_classes_and_keeps_piece_ids(table):
    X, y, p = data.window_set(table, np.arange(len(table)), hop=4, cap_per_class=12)
    assert X.shape[1:] == (2, 88, 64) and X.dtype == np.uint8
    counts = np.bincount(y, minlength=len(data.CLASSES))
    assert counts.max() <= 12 and counts.min() > 0
    assert np.array_equal(table.labels[p], y)
    X2, y2, p2, F = data.window_set(table, np.arange(5), hop=8, features=lambda piece, wins: np.ones((len(wins), 3)))
    assert F.shape == (len(y2), 3)


def test_table_round_trips_and_rejects_old_versions(table, tmp_path, monkeypatch):
    path = tmp_path / "t.npz"
    table.save(path)
    back = data.PieceTable.load(path)
    assert back.ids == table.ids
    a, b = table.piece(7), back.piece(7)
    assert np.array_equal(a.pitches, b.pitches) and np.array_equal(a.bar_numbers, b.bar_numbers)
    monkeypatch.setattr(data, "CACHE_VERSION", data.CACHE_VERSION + 1)
    with pytest.raises(ValueError):
        data.PieceTable.load(path)


def test_parse_one_corpus_file():
    recs = data._parse_file("bach/bwv66.6.mxl")
    assert len(recs) == 1 and recs[0]["n_parts"] == 4
    assert recs[0]["bar_numbers"][0] == 0  # the chorale starts with a pickup bar
    assert len(recs[0]["pitches"]) > 100

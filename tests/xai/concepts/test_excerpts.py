"""xai.concepts.excerpts: the shipped excerpt sets (saved, loaded, cited by piece and clock) and their split by piece."""

from __future__ import annotations

import numpy as np
import pytest

from tests._fakes import excerpt_set
from xai.concepts import excerpts
from xai.concepts import library as concepts
from xai.errors import InputError


@pytest.fixture
def small_set():
    return excerpt_set()


def test_excerpt_set_round_trip_and_examples(tmp_path, small_set):
    path = tmp_path / "ex.npz"
    small_set.save(path)
    back = excerpts.load_excerpts(path)
    assert len(back) == len(small_set) and back.sha256 == small_set.sha256
    assert back.piece_ids == small_set.piece_ids and back.composers[0] == "folkcoll"
    e = back.example(3, label="x")
    assert isinstance(e, concepts.Example) and e.origin == "discovered" and e.n_notes > 0
    assert e.citation.startswith(back.piece_ids[3])
    assert np.array_equal(back.piece(3).pitches, e.to_piece().pitches)
    assert set(back.class_names[i] for i in back.rows(classes=["high"])) == {"high"}
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert "X" in z.files and z["X"].dtype == np.uint8
    with pytest.raises(InputError, match="training.discovery_set build"):
        excerpts.load_excerpts(tmp_path / "missing.npz")


def test_composers_come_from_the_corpus_path():
    assert excerpts.composer_of("mozart/k80/movement3.mxl") == "mozart"
    assert excerpts.composer_of("essenFolksong/kinder0.abc#12") == "essen"
    assert excerpts.composer_of("ryansMammoth/QueenOfClubsReel.abc") == "ryans mammoth"


def test_held_out_pieces_never_share_a_piece_with_the_fitted_ones(small_set):
    rows = small_set.rows()
    fit, held = excerpts.split_by_piece(small_set, rows, holdout=0.34, random_state=0)
    pieces = np.asarray(small_set.piece_ids)
    assert len(fit) + len(held) == len(rows) and not set(pieces[fit]) & set(pieces[held])
    assert {small_set.labels[i] for i in held} == {0, 1}  # one piece of each class held out
    again = excerpts.split_by_piece(small_set, rows, holdout=0.34, random_state=0)
    assert np.array_equal(again[1], held)
    assert excerpts.split_by_piece(small_set, rows, holdout=0.0)[1].size == 0


def test_a_performance_excerpt_cites_a_span_by_clock_and_a_score_excerpt_does_not():
    from xai.symbolic import music

    piano = excerpts.load_excerpts(model="piano_composer")
    where = piano.seconds(0)
    per = float(piano.meta["seconds_per_beat"])
    assert piano.span_clock(0, (0.0, 10.0 / per)) == f"{music.clock(where[0])}–{music.clock(where[0] + 10.0)}"
    assert piano.citation(0).endswith(f"({music.clock(where[0])}–{music.clock(where[1])})")
    assert excerpts.load_excerpts(model="composer").span_clock(0, (0.0, 4.0)) == ""


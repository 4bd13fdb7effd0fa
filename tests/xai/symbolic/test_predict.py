import numpy as np
import pytest

from tests._fakes import FakeModel, scale_piece
from xai.contract import fields_equal
from xai.errors import InputError
from xai.symbolic import music, predict


def test_window_and_piece_predictions_follow_the_music():
    base = scale_piece(8)  # C4..B4, mean pitch 65.5
    low = music.Piece(**{**base.__dict__, "pitches": (base.pitches - 12).astype(np.int16)})
    high = music.Piece(**{**base.__dict__, "pitches": (base.pitches + 12).astype(np.int16)})
    model = FakeModel()
    assert predict.classify(low, model).label == "low"
    res = predict.classify(high, model)
    assert res.label == "high"
    assert np.isclose(res.piece_probabilities.sum(), 1.0)
    assert res.window_probabilities.shape == (len(res.windows), 2)
    assert [w.start_bar for w in res.windows][0] == 1


def test_silent_windows_are_shown_but_do_not_vote():
    p = scale_piece(8)
    keep = p.onsets < 8  # notes only in bars 1-2; then 6 bars of rest (the last note's bar line still stands)
    gap = music.Piece(**{**p.__dict__, "onsets": np.concatenate([p.onsets[keep], [31.0]]),
                         "durations": np.concatenate([p.durations[keep], [1.0]]),
                         "pitches": np.concatenate([p.pitches[keep], [60]]).astype(np.int16),
                         "velocities": np.full(keep.sum() + 1, 80, dtype=np.int16),
                         "parts": np.zeros(keep.sum() + 1, dtype=np.int16)})
    res = predict.classify(gap, FakeModel())
    silent = [i for i, w in enumerate(res.windows) if w.n_notes == 0]
    assert silent and all(np.isnan(res.window_probabilities[i]).all() for i in silent)
    d = res.summary()
    assert d["windows"][silent[0]]["label"] is None
    assert not np.isnan(res.piece_probabilities).any()


def test_json_shape_matches_the_cli_contract():
    d = predict.classify(scale_piece(12), FakeModel()).summary()
    assert set(d) == {"model", "classes", "piece", "windows"}
    assert set(d["piece"]) == {"label", "probabilities"}
    w = d["windows"][0]
    assert set(w) == {"start_bar", "end_bar", "start_beat", "end_beat", "label", "probabilities"}
    assert w["start_bar"] <= w["end_bar"]


def test_no_notes_is_a_plain_error():
    p = scale_piece(2)
    empty = music.Piece(**{**p.__dict__, **{k: getattr(p, k)[:0] for k in
                                            ("onsets", "durations", "pitches", "velocities", "parts")}})
    with pytest.raises(InputError, match="no notes"):
        predict.classify(empty, FakeModel())


def test_most_confident_windows_ranked():
    res = predict.classify(scale_piece(16), FakeModel())
    top = res.most_confident(3)
    conf = np.max(res.window_probabilities, axis=1)
    assert conf[top[0]] == np.nanmax(conf)
    assert len(top) == min(3, len(res.windows))


def test_a_prediction_round_trips_through_json():
    p = scale_piece(8)
    keep = p.onsets < 8  # a silent stretch: NaN rows must survive the trip
    gap = music.Piece(**{**p.__dict__, "onsets": np.concatenate([p.onsets[keep], [31.0]]),
                         "durations": np.concatenate([p.durations[keep], [1.0]]),
                         "pitches": np.concatenate([p.pitches[keep], [60]]).astype(np.int16),
                         "velocities": np.full(keep.sum() + 1, 80, dtype=np.int16),
                         "parts": np.zeros(keep.sum() + 1, dtype=np.int16)})
    res = predict.classify(gap, FakeModel())
    back = predict.Prediction.from_json(res.to_json())
    assert fields_equal(res, back)
    assert isinstance(back.windows[0], music.Window) and back.summary() == res.summary()

"""xai.symbolic.bounded: a piece crosses the sandbox as plain arrays and JSON, and parsing keeps to its budget."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest

from tests._fakes import scale_piece
from xai import sandbox
from xai.errors import InputError
from xai.symbolic import bounded, music

SMALL = sandbox.Budget(cpu_seconds=1, memory_mb=256, wall_seconds=8)


# Loaders, as the child finds them: module-level functions of (upload, options) -> the piece's bytes.


def scale_loader(data: bytes, options: dict) -> bytes:
    return bounded.piece_to_bytes(scale_piece(int(options["bars"]), title=data.decode()))


def refusing_loader(data: bytes, options: dict) -> bytes:
    raise InputError(f"{options['name']} has no notes.")


def spinning_loader(data: bytes, options: dict) -> bytes:
    while True:
        pass


def garbage_loader(data: bytes, options: dict) -> bytes:
    return b"not an npz"


@pytest.fixture(scope="module", autouse=True)
def _zygotes_know_this_module():
    sandbox.shutdown()
    sandbox.preload(__name__)
    yield
    sandbox.shutdown()


def _same(a: music.Piece, b: music.Piece) -> None:
    for f in dataclasses.fields(music.Piece):
        if f.name in ("source",):
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            assert x == y, f.name


def test_a_piece_round_trips_through_bytes_with_its_pedal_and_warnings():
    piece = dataclasses.replace(scale_piece(4, parts=2, qpm=90.0), end=16.0, warnings=("read leniently",),
                                pedal=np.array([[0.0, 2.0], [4.0, 6.5]]))
    data = bounded.piece_to_bytes(piece)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:  # plain arrays only: no pickle inside
        assert "meta" in npz.files and "pedal" in npz.files
    src = music.Source(name="s.mid", format="midi", data=b"x")
    back = bounded.piece_from_bytes(data, source=src)
    _same(piece, back)
    assert back.source is src
    plain = bounded.piece_from_bytes(bounded.piece_to_bytes(scale_piece(2)))
    assert plain.pedal is None and plain.source is None


def test_arrays_that_do_not_match_are_refused():
    piece = scale_piece(2)
    bad = dataclasses.replace(piece, pitches=piece.pitches[:-1])
    with pytest.raises(ValueError, match="do not match"):
        bounded.piece_from_bytes(bounded.piece_to_bytes(bad))


def test_parse_builds_the_piece_in_a_child_and_attaches_the_source():
    src = music.Source(name="t.mid", format="midi", data=b"Tiny")
    piece = bounded.parse(scale_loader, b"Tiny", {"bars": 3}, budget=SMALL, source=src)
    _same(scale_piece(3, title="Tiny"), piece)
    assert piece.source is src


def test_a_refusal_in_the_child_keeps_its_sentence():
    with pytest.raises(InputError, match="^song.abc has no notes.$"):
        bounded.parse(refusing_loader, b"", {"name": "song.abc"}, budget=SMALL)


def test_parsing_past_its_cpu_budget_is_a_plain_refusal():
    with pytest.raises(sandbox.OverBudget) as err:
        bounded.parse(spinning_loader, b"", {}, budget=SMALL, what="'song.abc'")
    assert isinstance(err.value, InputError) and "'song.abc'" in str(err.value)


def test_an_answer_that_is_no_piece_is_a_worker_error_not_a_refusal():
    with pytest.raises(sandbox.WorkerError, match="not a piece"):
        bounded.parse(garbage_loader, b"", {}, budget=SMALL)

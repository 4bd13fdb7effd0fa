"""xai.symbolic.corpus: music21 corpus pieces by id, parsed once into the cache, with tune numbers checked."""

from __future__ import annotations

import pytest

from xai.errors import InputError
from xai.symbolic import corpus, score


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path))
    calls = []
    # music21's scratch folder is set once per process (tests/xai/test_scratch.py); here only that it is asked for
    monkeypatch.setattr(corpus, "use_private_scratch", lambda: calls.append("scratch"))
    return tmp_path / "scores", calls


def test_a_chorale_is_parsed_once_then_read_from_the_cache(cache, monkeypatch):
    folder, calls = cache
    piece = corpus.load_piece("bach/bwv66.6.mxl")
    assert piece.title == "bach/bwv66.6.mxl" and piece.n_notes > 100 and len(piece.part_names) == 4
    assert calls == ["scratch"]
    [cached] = list(folder.glob("*.musicxml"))
    assert cached.name == "bach_bwv66.6.mxl.musicxml"

    def no_parse(_):
        raise AssertionError("parsed again")

    monkeypatch.setattr(corpus, "_musicxml", no_parse)
    again = corpus.load_piece("bach/bwv66.6.mxl")
    assert again.n_notes == piece.n_notes and (again.onsets == piece.onsets).all()


def test_tunes_of_a_collection_are_chosen_by_number_and_bad_numbers_refused():
    first, second = corpus.load_piece("essenFolksong/kinder0.abc#0"), corpus.load_piece("essenFolksong/kinder0.abc#1")
    assert first.n_notes > 0 and second.n_notes > 0 and first.title != second.title
    assert not (first.n_notes == second.n_notes and (first.pitches == second.pitches).all())
    with pytest.raises(InputError, match="has no tune number 9999"):
        corpus.load_piece("essenFolksong/kinder0.abc#9999")
    with pytest.raises(InputError, match="holds one piece, so it has no tune number 2"):
        corpus.load_piece("bach/bwv66.6.mxl#2")
    with pytest.raises(InputError, match="could not be read from music21's corpus"):
        corpus.load_piece("nobody/nothing.mxl")


def test_ids_become_distinct_safe_file_names():
    assert corpus._safe("essenFolksong/kinder0.abc#12") == "essenFolksong_kinder0.abc_12"
    assert corpus._safe("a/b") != corpus._safe("a/c") and "/" not in corpus._safe("../../etc/passwd")


def test_engraved_bars_are_kept_on_disk(cache, monkeypatch):
    pages = corpus.engrave_bars("bach/bwv66.6.mxl", 1, 2)
    assert pages and all("<svg" in p for p in pages)
    assert list(cache[0].glob("*.bars1-2.w1400s40.json"))
    monkeypatch.setattr(score, "engrave", lambda *a, **k: pytest.fail("engraved again"))
    assert corpus.engrave_bars("bach/bwv66.6.mxl", 1, 2) == pages

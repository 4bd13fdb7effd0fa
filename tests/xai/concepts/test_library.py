import json
import sqlite3

import numpy as np
import pytest

from tests._fakes import scale_piece
from tests._postgres import postgres_server, postgres_url  # noqa: F401 - fixtures
from xai.concepts import library as concepts
from xai.concepts.library import MIN_EXAMPLES, Concept, Example, Library
from xai.errors import InputError, ParameterError
from xai.symbolic import dataset as data
from xai.symbolic import music


def make_piece(k: int = 0, n_bars: int = 8, *, source: bool = False) -> music.Piece:
    """A two-voice scale piece transposed by ``k`` semitones, so pieces with different ``k`` differ."""
    p = scale_piece(n_bars, parts=2, title=f"Piece {k}")
    src = music.Source.from_bytes(f"piece{k}.mid", "midi", f"fake file {k}".encode()) if source else None
    return music.Piece(**{**p.__dict__, "pitches": (p.pitches + k).astype(np.int16), "source": src})


def make_concept(n: int = MIN_EXAMPLES, name: str = "rising scales", bars=(1, 4), **kw) -> Concept:
    examples = tuple(Example.from_piece(make_piece(k), *bars, label="marked by A.") for k in range(n))
    return Concept(name=name, description="Stepwise ascent in two voices.", examples=examples, author="A.", **kw)


def silent_example() -> Example:
    e = Example.from_piece(make_piece(0), 1, 4)
    empty = {k: getattr(e, k)[:0] for k in ("onsets", "durations", "pitches", "parts")}
    return Example(**{**e.__dict__, **empty, "title": "Empty"})


@pytest.fixture(params=["sqlite", "postgresql"])
def lib(request, tmp_path):
    """The library's suite on both back ends: a SQLite file, then a fresh PostgreSQL database (tests/_postgres.py
    starts a real server on loopback; if it cannot, these tests fail and say why)."""
    if request.param == "sqlite":
        return Library(tmp_path / "library.sqlite", timeout=0.1)
    return Library(request.getfixturevalue("postgres_url"), timeout=5)


# ------------------------------------------------------------------------------------------ examples/concepts


def test_example_keeps_provenance_bars_and_relative_notes():
    piece = make_piece(2, source=True)
    e = Example.from_piece(piece, 2, 5, label="a rising line")
    assert (e.start_bar, e.end_bar, e.start_beat, e.end_beat) == (2, 5, 4.0, 20.0)
    assert e.source_name == "piece2.mid" and e.source_sha256 == piece.source.sha256
    assert e.length == 16.0 and e.onsets.min() == 0.0 and e.n_notes == 32
    assert list(e.bar_numbers) == [2, 3, 4, 5] and list(e.bar_starts) == [0.0, 4.0, 8.0, 12.0]
    assert e.citation == "Piece 2, bars 2-5"
    p = e.to_piece()
    assert p.n_notes == e.n_notes and p.bar_at(5.0) == 3 and p.part_names == piece.part_names
    assert np.array_equal(music.piano_roll(p), music.piano_roll(piece.slice(4.0, 20.0)))


def test_example_of_a_piece_without_a_file_is_identified_by_its_notes():
    a, b = Example.from_piece(make_piece(0), 1, 4), Example.from_piece(make_piece(1), 1, 4)
    assert a.source_name == "Piece 0" and len(a.source_sha256) == 64
    assert a.source_sha256 != b.source_sha256
    assert Example.from_piece(make_piece(0), 1, 4).source_sha256 == a.source_sha256


def test_example_and_concept_round_trip_through_json():
    c = make_concept(3, metadata={"layer": "block3", "method": "nmf"}, origin="discovered")
    d = json.loads(json.dumps(c.to_dict()))
    back = Concept.from_dict(d)
    assert back.to_dict() == c.to_dict()
    assert back.examples[1].pitches.dtype == np.int16 and back.examples[1].onsets.dtype == np.float64
    assert np.array_equal(back.examples[2].pitches, c.examples[2].pitches)
    assert Example.from_dict(c.examples[0].to_dict()).fingerprint() == c.examples[0].fingerprint()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"start_bar": "three"}, "'start_bar'.*whole number"),
        ({"notes": {"onsets": [0.0], "durations": [1.0], "pitches": [60.5], "parts": [0]}}, "'pitches'"),
        ({"origin": "dreamt"}, "origin"),
    ],
)
def test_example_from_dict_names_the_bad_field(change, message):
    d = make_concept(1).examples[0].to_dict() | change
    with pytest.raises(InputError, match=message):
        Example.from_dict(d)


def test_concept_needs_a_name_and_a_known_origin():
    with pytest.raises(InputError, match="name"):
        Concept(name="  ")
    with pytest.raises(InputError, match="origin"):
        Concept(name="x", origin="alien")
    with pytest.raises(InputError, match="metadata"):
        Concept(name="x", metadata={"weights": np.zeros(3)})


# ---------------------------------------------------------------------------------------------------- checks


def test_check_usable_accepts_enough_distinct_full_length_examples():
    c = make_concept()
    assert concepts.validate(c) == []
    assert concepts.check_usable(c) is c


def test_too_few_examples_is_refused_with_the_count():
    with pytest.raises(InputError, match=r"has 3 examples; a concept needs at least 8 .* chance"):
        concepts.check_usable(make_concept(3))


def test_an_example_shorter_than_a_window_is_refused_in_bars_and_quarters():
    c = make_concept(bars=(1, 2))
    with pytest.raises(InputError, match=r"Example 1 \(Piece 0, bars 1-2\) lasts 2 bars \(8 quarters\).*16"):
        concepts.check_usable(c)
    problems = concepts.validate(c)
    assert any("longer bar range" in w for w in problems)
    assert "5 more examples are shorter than 16 quarters" in problems[3] and len(problems) == 4


def test_duplicates_are_dropped_and_counted_and_only_block_below_the_minimum():
    c = make_concept()
    same_bars = c.examples[0]
    same_notes = Example(**{**c.examples[1].__dict__, "source_name": "copy.mid", "source_sha256": "f" * 64})
    doubled = Concept(name="doubled", examples=c.examples + (same_bars, same_notes))
    assert any("2 examples" in w and "repeat" in w for w in concepts.validate(doubled))
    assert concepts.check_usable(doubled).n_examples == MIN_EXAMPLES
    short = Concept(name="short", examples=c.examples[:7] + (same_bars, same_notes, same_bars))
    with pytest.raises(InputError, match="has 7 distinct examples"):
        concepts.check_usable(short)


def test_an_example_without_notes_is_refused():
    c = make_concept()
    with pytest.raises(InputError, match=r"Example 9 \(Empty, bars 1-4\) has no notes"):
        concepts.check_usable(Concept(name="x", examples=c.examples + (silent_example(),)))


def test_example_rolls_are_the_model_windows_without_silence():
    c = make_concept()
    X = concepts.example_rolls(c)
    assert X.shape == (MIN_EXAMPLES, 2, music.N_PITCHES, 64) and X.dtype == np.float32
    # Bars 1-6 (24 quarters) are two windows at hop 8; a gap of silence inside an example gives none.
    long = Example.from_piece(make_piece(0), 1, 6)
    p = make_piece(1)
    keep = (p.onsets < 8) | (p.onsets >= 24)
    gappy = Example.from_piece(music.Piece(**{**p.__dict__, **{k: getattr(p, k)[keep] for k in
                                             ("onsets", "durations", "pitches", "velocities", "parts")}}), 1, 8)
    X2 = concepts.example_rolls(Concept(name="y", examples=(long, gappy, silent_example())))
    assert len(X2) == 2 + 2  # gappy: windows 0-16 and 16-32 have notes, 8-24 is silent
    assert X2.reshape(len(X2), -1).max(axis=1).min() == 1.0
    assert concepts.example_rolls(Concept(name="z")).shape == (0, 2, music.N_PITCHES, 64)


# --------------------------------------------------------------------------------------------------- library


def test_library_saves_gets_lists_and_deletes(lib):
    c = make_concept()
    lib.save(c)
    lib.save(make_concept(2, name="another"))
    assert lib.names() == ["another", "rising scales"] and "another" in lib and len(lib) == 2
    back = lib.get("rising scales")
    assert back.to_dict() == c.to_dict()
    rows = {r["name"]: r for r in lib.list()}
    assert rows["rising scales"]["n_examples"] == MIN_EXAMPLES and rows["another"]["n_examples"] == 2
    assert rows["rising scales"]["origin"] == "user" and rows["rising scales"]["created"] == c.created
    lib.delete("another")
    assert lib.names() == ["rising scales"]
    with pytest.raises(InputError, match="no concept called 'another'"):
        lib.get("another")
    with pytest.raises(InputError, match="no concept called"):
        lib.delete("another")


def test_saving_an_existing_name_needs_overwrite(lib):
    lib.save(make_concept())
    with pytest.raises(InputError, match="already in the library"):
        lib.save(make_concept(3))
    assert lib.get("rising scales").n_examples == MIN_EXAMPLES
    lib.save(make_concept(3), overwrite=True)
    assert lib.get("rising scales").n_examples == 3


def test_library_survives_reopening_and_uses_the_configured_path(tmp_path, monkeypatch):
    path = tmp_path / "nested" / "lib.sqlite"
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(path))
    Library().save(make_concept())
    assert path.exists() and Library(path).names() == ["rising scales"]
    monkeypatch.delenv("MUSICXAI_LIBRARY")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert concepts.default_library_path() == tmp_path / ".local" / "share" / "musicxai" / "library.sqlite"


def test_library_parameters_are_checked(tmp_path):
    with pytest.raises(ParameterError, match="'timeout'"):
        Library(tmp_path / "x.sqlite", timeout=-1)
    with pytest.raises(InputError, match="is a folder"):
        Library(tmp_path).names()


def test_export_then_import_into_another_library(lib, tmp_path):
    lib.save(make_concept())
    lib.save(make_concept(2, name="pair"))
    text = lib.export_json()
    doc = json.loads(text)
    assert doc["format"] == "musicxai.concepts" and doc["version"] == 1 and len(doc["concepts"]) == 2
    other = Library(tmp_path / "other.sqlite")
    assert other.import_json(text) == ["pair", "rising scales"]
    assert other.get("pair").to_dict() == lib.get("pair").to_dict()
    assert json.loads(lib.export_json(["pair"]))["concepts"][0]["name"] == "pair"
    with pytest.raises(InputError, match="already has a concept called 'pair'"):
        other.import_json(lib.export_json(["pair"]))
    assert other.import_json(lib.export_json(["pair"]), overwrite=True) == ["pair"]


def _good_doc():
    return {"format": "musicxai.concepts", "version": 1, "concepts": [make_concept(2, name="good").to_dict()]}


def _bad(mutate):
    doc = _good_doc()
    mutate(doc)
    return json.dumps(doc)


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"format": "musicxai.concepts", "version": 1, "concepts": [', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not text"),
        (json.dumps([1, 2, 3]), "not a musicxai concept file"),
        (_bad(lambda d: d.update(format="something.else")), "not a musicxai concept file"),
        (_bad(lambda d: d.update(version=99)), "newer version of musicxai"),
        (_bad(lambda d: d.update(version="1")), "'version'"),
        (_bad(lambda d: d.pop("concepts")), "list of 'concepts'"),
        (_bad(lambda d: d["concepts"][0].pop("name")), "missing the field 'name'"),
        (_bad(lambda d: d["concepts"][0]["examples"][1].pop("notes")), r"Example 2: .*missing the field 'notes'"),
        (_bad(lambda d: d["concepts"][0].update(examples="none")), "'examples'.*must be a list"),
        (_bad(lambda d: d["concepts"][0]["examples"][0]["notes"].update(onsets=[0.0])), "same length"),
        # all-or-nothing: a good concept followed by a bad one saves neither
        (_bad(lambda d: d["concepts"].append({"name": "bad", "examples": [{"title": 3}]})), "'bad'"),
        (_bad(lambda d: d["concepts"].append(d["concepts"][0])), "two concepts called 'good'"),
    ],
)
def test_a_bad_import_raises_a_plain_sentence_and_saves_nothing(lib, text, message):
    lib.save(make_concept(1, name="already here"))
    with pytest.raises(InputError, match=message):
        lib.import_json(text)
    assert lib.names() == ["already here"]


def test_import_is_all_or_nothing_on_a_name_clash(lib):
    lib.save(make_concept(1, name="good"))
    doc = _good_doc()
    doc["concepts"].insert(0, make_concept(1, name="fresh").to_dict())
    with pytest.raises(InputError, match="nothing was imported"):
        lib.import_json(json.dumps(doc))
    assert lib.names() == ["good"] and lib.get("good").n_examples == 1


def test_a_damaged_file_is_reported_and_left_untouched(tmp_path):
    path = tmp_path / "library.sqlite"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)
    lib = Library(path, timeout=0.1)
    for call in (lib.names, lambda: lib.save(make_concept()), lambda: lib.import_json(json.dumps(_good_doc()))):
        with pytest.raises(InputError, match=r"is damaged; it was left untouched\. Choose another path or restore a backup"):
            call()
    assert path.read_bytes() == garbage


def test_a_database_of_another_program_is_not_touched(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(InputError, match="another program"):
        Library(path).save(make_concept())
    assert path.read_bytes() == before


def test_a_locked_library_says_busy_and_works_once_released(tmp_path):
    path = tmp_path / "library.sqlite"
    Library(path).save(make_concept(1, name="first"))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        lib = Library(path, timeout=0.05)
        with pytest.raises(InputError, match="busy.*try again"):
            lib.save(make_concept())
        with pytest.raises(InputError, match="busy"):
            lib.names()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    lib.save(make_concept())
    assert lib.names() == ["first", "rising scales"]


def test_tcav_runs_are_recorded_with_numpy_results(lib):
    first = lib.save_run({
        "concept": "rising scales", "targets": ["bach", "folk"], "layer": "block3", "model": "composer",
        "parameters": {"seeds": np.arange(3), "n_random": np.int64(10), "weights_sha256": "ab" * 32},
        "results": {"bach": {"score": np.float32(0.75), "p_value": 0.01}},
    })
    second = lib.save_run({"concepts": ["other"], "targets": "bach", "layers": ["block2"]})
    assert isinstance(first, int) and second > first
    runs = lib.runs()
    assert [r["id"] for r in runs] == [second, first]
    r = lib.runs("rising scales")[0]
    assert r["concepts"] == ["rising scales"] and r["layers"] == ["block3"] and r["model"] == "composer"
    assert r["parameters"]["seeds"] == [0, 1, 2] and r["results"]["bach"]["score"] == 0.75
    assert lib.runs("nothing") == []
    with pytest.raises(ParameterError, match="unknown fields"):
        lib.save_run({"concepts": ["x"], "colour": "red"})


# ------------------------------------------------------------------------------------------- shipped assets


def test_builtin_concepts_ship_usable_and_labelled():
    shipped = concepts.builtin()
    assert len(shipped) >= 8
    for name, c in shipped.items():
        assert c.name == name and c.origin == "builtin" and c.author == "miner" and c.description
        assert c.n_examples >= MIN_EXAMPLES
        assert concepts.check_usable(c).n_examples == c.n_examples
        assert c.metadata["split"] == "train" and sum(c.metadata["class_counts"].values()) == c.n_examples
    some = next(iter(shipped.values()))
    assert concepts.example_rolls(some).shape[1:] == (2, music.N_PITCHES, 64)


def test_random_pool_and_class_examples_ship_as_float_rolls():
    pool = concepts.random_pool()
    assert pool.shape == (500, 2, music.N_PITCHES, 64) and pool.dtype == np.float32
    assert set(np.unique(pool)) <= {0.0, 1.0} and pool.reshape(len(pool), -1).max(axis=1).min() == 1.0
    sources = concepts.random_pool_sources()
    assert len(sources) == len(pool) and all(isinstance(s, str) and s for s in sources)
    held_out = concepts.class_examples()
    assert set(held_out) == set(data.CLASSES)
    for X in held_out.values():
        assert X.shape == (200, 2, music.N_PITCHES, 64) and X.dtype == np.float32
    # TCAV can leave out random excerpts from a concept's pieces by name.
    example_sources = {e.source_name for c in concepts.builtin().values() for e in c.examples}
    assert example_sources & set(sources)


def test_missing_assets_are_a_plain_error(tmp_path):
    with pytest.raises(InputError, match="python -m training.concept_sets build"):
        concepts.builtin(tmp_path / "nowhere.json")


def test_a_failure_half_way_through_an_import_keeps_what_was_there(lib, monkeypatch):
    lib.save(make_concept(1, name="kept"))
    doc = _good_doc()
    doc["concepts"].append(make_concept(1, name="second").to_dict())
    real_save, calls = Library._save, []

    def failing_save(self, con, c, *, overwrite):
        calls.append(c.name)
        if len(calls) == 2:
            raise sqlite3.OperationalError("disk I/O error")
        real_save(self, con, c, overwrite=overwrite)

    monkeypatch.setattr(Library, "_save", failing_save)
    with pytest.raises(InputError, match="could not be written.*nothing was changed"):
        lib.import_json(json.dumps(doc))
    assert calls == ["good", "second"]
    monkeypatch.undo()
    assert lib.names() == ["kept"]


def test_concurrent_saves_from_two_servers_lose_nothing(lib):
    """Two library objects (two app servers) on one database, saving at once: every concept and run is kept."""
    import threading

    other = Library(lib._db.url if lib.shared else lib.path, timeout=30)
    lib.timeout = 30
    lib._db.timeout = 30
    errors = []

    def saver(store, who):
        try:
            for i in range(6):
                store.save(make_concept(2, name=f"{who} {i}"))
                store.save_run({"concepts": [f"{who} {i}"], "targets": "bach", "layers": "block3"})
        except Exception as e:  # noqa: BLE001 - reported by the assertion
            errors.append(e)

    threads = [threading.Thread(target=saver, args=(s, w)) for s, w in ((lib, "a"), (other, "b"), (lib, "c"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(lib) == 18 and len(other.runs()) == 18
    assert other.get("a 5").n_examples == 2 and lib.get("b 0").to_dict() == other.get("b 0").to_dict()


def test_resolve_and_usable_pick_concepts_from_the_three_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(tmp_path / "library.sqlite"))
    saved, draft = make_concept(name="saved"), make_concept(name="draft")
    Library().save(saved)
    name = next(iter(concepts.builtin()))
    assert concepts.resolve("library", "saved").name == "saved"
    assert concepts.resolve("builtin", name) is concepts.builtin()[name]
    assert concepts.resolve("working", "draft", working=draft) is draft
    with pytest.raises(InputError, match="no examples any more"):
        concepts.resolve("working", "draft")
    ready, problems = concepts.usable([("A", "library", "saved"), ("B", "working", "draft"),
                                       ("C", "working", "gone")], working=None)
    assert [c.name for c in ready] == ["saved"] and len(problems) == 2
    assert problems[0].startswith("B: ") and problems[1].startswith("C: ")
    few = make_concept(3, name="few")
    ready, problems = concepts.usable([("few (unsaved)", "working", "few")], working=few)
    assert ready == [] and problems[0].startswith("few (unsaved): ") and "needs at least" in problems[0]


def test_builtin_sets_are_the_sets_made_for_each_kind_of_model():
    library = concepts
    from models import registry

    piano = registry.load("piano_composer")
    assert library.builtin_set_for(piano) == "piano" and library.builtin_set_for(None) == "styles"
    assert set(library.builtin_set("piano")) == set(library.builtin(model=piano))
    assert set(library.builtin_set("styles")) == set(library.builtin())
    assert library.builtin_names() == set(library.builtin_set("piano")) | set(library.builtin_set("styles"))
    assert "alberti bass" in library.builtin_names()
    with pytest.raises(ParameterError):
        library.builtin_set("jazz")

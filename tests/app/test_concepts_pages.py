"""AppTest journeys of 'Define a concept' and 'Test a concept (TCAV)', each on its own concept library."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pretty_midi
import pytest
from streamlit.testing.v1 import AppTest

from tests.app._apptest import ok, open_page
from xai.concepts import library as concepts
from xai.concepts import tcav
from xai.symbolic import examples

pytestmark = pytest.mark.slow
CONCEPTS = "pages/concepts.py"
TCAV = "pages/tcav.py"
MIN_RUNS = next(o["low"] for o in tcav.TCAVOptions.spec() if o["name"] == "n_random")
MIN_SET = next(o["low"] for o in tcav.TCAVOptions.spec() if o["name"] == "max_examples")


@pytest.fixture
def library(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "concepts.sqlite"
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(path))
    return path


@pytest.fixture
def builtin_name() -> str:
    return next(iter(concepts.builtin()))


def _texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _work(at: AppTest) -> list:
    return at.session_state["concept_work"].examples()


def _midi_bytes(n_bars: int) -> bytes:
    """A two-voice MIDI file of ``n_bars`` bars of 4/4 at 120 bpm."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    upper, lower = pretty_midi.Instrument(0, name="Upper"), pretty_midi.Instrument(0, name="Lower")
    for i in range(4 * n_bars):
        t = i * 0.5
        upper.notes.append(pretty_midi.Note(80, 60 + (3 * i) % 12, t, t + 0.5))  # legato: fills the last bar
        if i % 2 == 0:
            lower.notes.append(pretty_midi.Note(70, 48 + (i // 2) % 5, t, t + 0.9))
    pm.instruments += [upper, lower]
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def _add_builtin(at: AppTest, name: str) -> AppTest:
    at.radio(key="con_way").set_value("A built-in concept").run()
    at.selectbox(key="con_builtin").set_value(name).run()
    return at.button(key="con_add_builtin").click().run()


# ----------------------------------------------------------------------------------------- Define a concept


def test_concepts_page_renders_with_the_library_path(library):
    at = open_page(CONCEPTS)
    ok(at)
    assert [h.value for h in at.title] == ["Define a concept"]
    assert str(library) in _texts(at)
    assert any("No examples yet" in i.value for i in at.info)
    assert at.button(key="con_save").disabled  # nothing to save


def test_adding_a_builtin_concept_shows_its_rule_and_fills_the_working_concept(library, builtin_name):
    c = concepts.builtin()[builtin_name]
    at = open_page(CONCEPTS)
    at.radio(key="con_way").set_value("A built-in concept").run()
    at.radio(key="con_builtin_set").set_value("styles").run()  # the style corpus's set, where builtin_name lives
    assert c.description in _texts(at)
    at.button(key="con_add_builtin").click().run()
    ok(at)
    assert len(_work(at)) == c.n_examples
    assert any(f"Added {c.n_examples} examples" in s.value for s in at.success)
    assert sum(b.key.startswith("con_rm_") for b in at.button) == c.n_examples  # a remove button per example
    assert f"Your concept ({c.n_examples} examples)" in [h.value for h in at.header]
    assert not at.warning, [w.value for w in at.warning]  # enough examples, no repeats
    # The preview of a built-in example: piano roll and audio, and a sentence saying why there is no score.
    assert len(at.get("audio")) == 1
    assert any("do not ship with the app" in i.value for i in at.info)

    # Adding it again adds nothing: every example is a repeat.
    at.button(key="con_add_builtin").click().run()
    assert len(_work(at)) == c.n_examples
    assert any(f"{c.n_examples} examples already in the concept were not added" in s.value for s in at.success)


@pytest.mark.skipif(not examples.EXAMPLES, reason="no example pieces are bundled")
def test_adding_excerpts_by_bar_numbers_from_an_example_piece(library):
    at = open_page(CONCEPTS)
    assert at.radio(key="con_way").value == "Bars of a piece"
    start = at.number_input(key="con_start")
    first = start.value
    at.number_input(key="con_end").set_value(first).run()  # one bar: shorter than a window
    ok(at)
    assert at.button(key="con_add_excerpt").disabled
    short = [w.value for w in at.warning]
    assert len(short) == 1 and "the model reads at once" in short[0] and "needs at least bars" in short[0]
    need = int(short[0].split("needs at least bars ")[1].split("–")[1].split(" ")[0])

    at.number_input(key="con_end").set_value(need).run()
    assert not at.button(key="con_add_excerpt").disabled
    at.text_input(key="con_label").set_value("opening").run()
    at.button(key="con_add_excerpt").click().run()
    ok(at)
    (ex,) = _work(at)
    assert (ex.start_bar, ex.end_bar, ex.label, ex.origin) == (first, need, "opening", "excerpt")
    assert any("Added" in s.value for s in at.success)
    # Too few: said plainly, with the number still needed.
    assert any(f"This concept has 1 example; it needs at least {concepts.MIN_EXAMPLES}" in w.value for w in at.warning)
    # The same bars again are a repeat, noted and not added.
    at.button(key="con_add_excerpt").click().run()
    assert len(_work(at)) == 1
    assert any("already in the concept" in i.value for i in at.info)

    # The preview engraves the bars of a scored example, or says a MIDI file has no score.
    assert len(at.get("audio")) == 1
    assert at.get("image") or any("no written score" in i.value for i in at.info)

    rm = next(b for b in at.button if b.key.startswith("con_rm_"))
    rm.click().run()
    assert _work(at) == []


def test_short_files_each_become_one_example_and_bad_ones_are_named(library):
    at = open_page(CONCEPTS)
    at.radio(key="con_way").set_value("Short files, one example each").run()
    at.file_uploader[0].set_value(
        [
            ("four_bars.mid", _midi_bytes(4), "audio/midi"),
            ("two_bars.mid", _midi_bytes(2), "audio/midi"),
            ("photo.mid", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "audio/midi"),
        ]
    ).run()
    at.button(key="con_add_files").click().run()
    assert not at.exception, at.exception
    (ex,) = _work(at)
    assert ex.origin == "file" and ex.source_name == "four_bars.mid"
    errors = [e.value for e in at.error]
    assert len(errors) == 2
    assert any("two_bars.mid" in e and "shorter than" in e for e in errors)
    assert any("photo.mid" in e for e in errors) and not any("Traceback" in e for e in errors)


def test_saving_to_the_library_lists_it_and_asks_before_replacing(library, builtin_name):
    at = _add_builtin(open_page(CONCEPTS), builtin_name)
    at.button(key="con_save").click().run()
    assert any("name" in e.value for e in at.error)  # no name yet
    at.text_input(key="con_name").set_value("my texture").run()
    at.text_area(key="con_desc").set_value("what I hear").run()
    at.button(key="con_save").click().run()
    ok(at)
    assert any("Saved 'my texture'" in s.value for s in at.success)
    lib = concepts.Library(library)
    assert lib.names() == ["my texture"]
    assert lib.get("my texture").description == "what I hear"
    (table,) = [d.value for d in at.dataframe]
    assert list(table["name"]) == ["my texture"] and list(table["n_examples"]) == [len(_work(at))]

    # Saving under the same name asks first; nothing is replaced until the user says so.
    at.button(key="con_save").click().run()
    assert any("already in the library" in w.value for w in at.warning)
    at.button(key="con_replace").click().run()
    ok(at)
    assert lib.names() == ["my texture"]


def test_a_library_concept_loads_exports_and_is_deleted_only_when_confirmed(library, builtin_name):
    lib = concepts.Library(library)
    c = concepts.builtin()[builtin_name]
    lib.save(concepts.Concept(name="kept", description="a saved concept", examples=c.examples[:9]))
    lib.save(concepts.Concept(name="other", examples=c.examples[9:18]))
    at = open_page(CONCEPTS)
    at.selectbox(key="con_lib_pick").set_value("kept").run()
    at.button(key="con_load").click().run()
    ok(at)
    assert len(_work(at)) == 9
    assert at.text_input(key="con_name").value == "kept" and at.text_area(key="con_desc").value == "a saved concept"

    assert at.multiselect(key="con_export_pick").value == ["kept", "other"]  # all, unless narrowed
    at.multiselect(key="con_export_pick").set_value([]).run()
    assert at.download_button(key="con_export").disabled
    at.multiselect(key="con_export_pick").set_value(["other"]).run()
    assert not at.download_button(key="con_export").disabled

    at.button(key="con_ask_delete").click().run()
    assert any("Delete 'kept'" in w.value for w in at.warning)
    at.button(key="con_keep_it").click().run()  # cancel: nothing deleted
    assert lib.names() == ["kept", "other"]
    at.button(key="con_ask_delete").click().run()
    at.button(key="con_delete").click().run()
    ok(at)
    assert lib.names() == ["other"]
    assert any("Deleted 'kept'" in s.value for s in at.success)
    assert len(_work(at)) == 9  # the working copy stays


def test_a_malformed_or_newer_import_shows_an_error_and_changes_nothing(library, builtin_name):
    lib = concepts.Library(library)
    lib.save(concepts.builtin()[builtin_name])
    before = lib.export_json()
    at = open_page(CONCEPTS)
    newer = json.dumps({"format": concepts.FORMAT, "version": concepts.FORMAT_VERSION + 1, "concepts": []})
    for name, data in (
        ("broken.json", b'{"format": "musicxai.concepts", "version": 1, "concepts": [{"name": 3'),
        ("newer.json", newer.encode()),
    ):
        at.file_uploader(key="con_import_0").set_value((name, data, "application/json")).run()
        at.button(key="con_import").click().run()
        assert not at.exception, at.exception
        assert len(at.error) == 1 and name in at.error[0].value, [e.value for e in at.error]
        assert lib.export_json() == before
    assert "newer version" in at.error[0].value


def test_a_corrupt_library_file_is_a_plain_error_and_the_page_keeps_working(library, builtin_name):
    library.write_bytes(b"this is not a database " * 100)
    at = open_page(CONCEPTS)
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "damaged" in at.error[0].value
    _add_builtin(at, builtin_name)
    assert len(_work(at)) == concepts.builtin()[builtin_name].n_examples
    at.text_input(key="con_name").set_value("kept").run()
    at.button(key="con_save").click().run()
    assert not at.exception
    assert any("damaged" in e.value for e in at.error)
    assert library.read_bytes().startswith(b"this is not a database")  # left untouched

    at.switch_page(TCAV).run()
    assert not at.exception, at.exception
    assert any("damaged" in w.value for w in at.warning)  # built-in concepts can still be tested


# ------------------------------------------------------------------------------------------------- TCAV


def _fast(at: AppTest, targets: list[str]) -> AppTest:
    at.multiselect(key="tcav_targets").set_value(targets)
    at.number_input(key="tcav_opt_n_random").set_value(MIN_RUNS)
    return at.run()


def test_tcav_page_renders_with_options_from_tcav_options(library):
    at = open_page(TCAV)
    ok(at)
    assert [h.value for h in at.title] == ["Test a concept (TCAV)"]
    for o in tcav.TCAVOptions.spec():
        w = (at.selectbox if o.get("choices") else at.number_input)(key="tcav_opt_" + o["name"])
        assert w.value == o["default"]
        if not o.get("choices"):
            assert (w.min, w.max) == (o["low"], o["high"])
    assert at.multiselect(key="tcav_targets").value == list(at.multiselect(key="tcav_targets").options)
    assert len(at.multiselect(key="tcav_layers").value) == 1


def test_running_tcav_shows_scores_sentences_and_records_the_run(library, builtin_name):
    at = open_page(TCAV)
    assert at.multiselect(key="tcav_concepts").value == [f"{builtin_name} (built-in)"]
    at = _fast(at, ["bach"])
    at.button(key="tcav_run").click().run()
    ok(at)
    assert "tcav_scores_0" in [c.key for c in at.get("plotly_chart")]
    records = at.dataframe[0].value
    assert list(records["target"]) == ["bach"] and "cav_accuracy" in records
    assert "nudging" in _texts(at)  # the interpretation sentence
    assert any("not causal" in i.value for i in at.info)
    (run,) = concepts.Library(library).runs()
    assert run["concepts"] == [builtin_name] and run["targets"] == ["bach"]
    assert run["parameters"]["options"]["n_random"] == MIN_RUNS
    assert run["parameters"]["weights_sha256"]


@pytest.mark.skipif(not examples.EXAMPLES, reason="no example pieces are bundled")
def test_the_concept_strip_renders_for_an_example_piece(library, builtin_name):
    at = open_page(TCAV)
    assert any("Run a test above first" in i.value for i in at.info)
    at = _fast(at, ["bach"])
    at.button(key="tcav_run").click().run()
    name = list(examples.EXAMPLES)[-1]
    at.selectbox(key="tcav_strip_example").set_value(name).run()
    ok(at)
    assert "tcav_strip_fig" in [c.key for c in at.get("plotly_chart")]
    text = _texts(at)
    assert "Bars where the model sees the concept most:** bar " in text or "No bar of this piece" in text
    if "No bar of this piece" not in text:
        assert len(at.get("audio")) == 1  # the window that points most towards the concept


def test_relative_tcav_runs(library):
    names = list(concepts.builtin())[:2]
    at = open_page(TCAV)
    at.radio(key="tcav_mode").set_value("Concept A against concept B (relative TCAV)").run()
    at.selectbox(key="tcav_a").set_value(f"{names[0]} (built-in)").run()
    at.selectbox(key="tcav_b").set_value(f"{names[1]} (built-in)").run()
    at = _fast(at, ["folk"])
    at.button(key="tcav_run").click().run()
    ok(at)
    chart = next(c for c in at.get("plotly_chart") if c.key == "tcav_scores_0")
    assert f"'{names[0]}' rather than '{names[1]}'" in json.loads(chart.proto.spec)["layout"]["title"]["text"]
    assert f"'{names[1]}'" in _texts(at)  # the sentence names B as what A is measured against
    (run,) = concepts.Library(library).runs()
    assert run["concepts"] == names and run["parameters"]["method"] == "relative TCAV"


def test_the_working_concept_is_offered_once_usable_and_too_few_examples_block_the_run(library, builtin_name):
    c = concepts.builtin()[builtin_name]
    small = concepts.Concept(name="too small", examples=c.examples[:3])
    concepts.Library(library).save(small)
    at = _add_builtin(open_page(CONCEPTS), builtin_name)
    at.text_input(key="con_name").set_value("mine").run()
    at.switch_page(TCAV).run()
    ok(at)
    options = at.multiselect(key="tcav_concepts").options
    assert options[0] == "mine (unsaved, from Define a concept)" and "too small (library)" in options
    at.multiselect(key="tcav_concepts").set_value(["too small (library)"]).run()
    assert at.button(key="tcav_run").disabled
    assert any(f"needs at least {concepts.MIN_EXAMPLES}" in w.value for w in at.warning)


def test_previous_runs_hide_other_sessions_unsaved_concepts(library, builtin_name):
    lib = concepts.Library(library)
    lib.save_run({"model": "composer", "concepts": ["someone's private draft"], "targets": ["bach"],
                  "layers": ["block3"]})
    lib.save_run({"model": "composer", "concepts": [builtin_name], "targets": ["folk"], "layers": ["block3"]})
    at = open_page(TCAV)
    ok(at)
    shown = "\n".join(str(df.value.to_dict()) for df in at.dataframe)
    assert builtin_name in shown
    assert "private draft" not in shown

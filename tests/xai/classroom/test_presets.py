"""Class presets: anyone reads them, only the teacher password changes them, and bad input says so plainly."""

from __future__ import annotations

import pytest

from tests._postgres import database_url, postgres_server, postgres_url  # noqa: F401 - fixtures
from tests._threads import errors_in_threads
from xai.classroom import presets, share
from xai.errors import ParameterError


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(tmp_path / "library.sqlite"))
    monkeypatch.delenv("MUSICXAI_PRESETS", raising=False)
    monkeypatch.setenv("MUSICXAI_SECRET", "presets-test")
    monkeypatch.setenv("MUSICXAI_TEACHER_PASSWORD", "letmein-2026")


def _preset(name="Week 1", **kw):
    return presets.Preset(name=name, view="classify", state={"source": "example", "example": "bach: bwv20.7"}, **kw)


def test_teacher_saves_students_read_and_open_the_same_view():
    store = presets.PresetStore()
    assert store.list() == []
    saved = store.save(_preset(description="Listen to the cadences."), password="letmein-2026")
    assert store.path.name == "presets.json"
    [p] = presets.PresetStore().list()  # another session's store reads the same file
    assert p.name == "Week 1" and p.description == "Listen to the cadences." and p.created == saved.created
    assert share.decode(p.token()) == ("classify", {"source": "example", "example": "bach: bwv20.7"})


def test_students_cannot_change_presets():
    store = presets.PresetStore()
    store.save(_preset(), password="letmein-2026")
    with pytest.raises(ParameterError, match="not the teacher password"):
        store.save(_preset("Mine"), password="guess")
    with pytest.raises(ParameterError, match="not the teacher password"):
        store.delete("Week 1", password="")
    assert [p.name for p in store.list()] == ["Week 1"]
    store.delete("Week 1", password="letmein-2026")
    assert store.list() == []


def test_teacher_mode_off_without_a_password_and_on_with_the_setup_file(monkeypatch):
    monkeypatch.delenv("MUSICXAI_TEACHER_PASSWORD")
    assert not presets.teacher_mode_available()
    with pytest.raises(ParameterError, match="Teacher mode is off"):
        presets.PresetStore().save(_preset(), password="anything")
    presets.set_teacher_password("from-a-file")
    assert presets.teacher_mode_available() and presets.check_password("from-a-file")
    assert not presets.check_password("letmein-2026")
    with pytest.raises(ParameterError, match="at least 8"):
        presets.set_teacher_password("abc")


def test_bad_presets_are_refused_plainly():
    store = presets.PresetStore()
    with pytest.raises(ParameterError, match="name"):
        store.save(_preset(name="  "), password="letmein-2026")
    with pytest.raises(ParameterError, match="does not have"):
        store.save(presets.Preset(name="x", view="classify", state={"evil": 1}), password="letmein-2026")
    store.save(_preset(), password="letmein-2026")
    with pytest.raises(ParameterError, match="exists already"):
        store.save(_preset(), password="letmein-2026")
    store.path.write_text("{not json")
    with pytest.raises(ParameterError, match="damaged"):
        store.list()


def test_a_pasted_link_or_token_gives_the_view():
    token = share.encode("tcav", {"concepts": ["homophonic"]})
    assert presets.from_link(f"http://localhost:8501/tcav?share={token}") == ("tcav", {"concepts": ["homophonic"]})
    assert presets.from_link(token)[0] == "tcav"
    with pytest.raises(ParameterError):
        presets.from_link("http://localhost:8501/tcav?share=broken")


def test_concurrent_saves_lose_nothing():
    store = presets.PresetStore()
    assert not errors_in_threads(lambda i: store.save(_preset(f"P{i}"), password="letmein-2026"),
                                 [(i,) for i in range(20)], timeout=None)
    assert sorted(p.name for p in store.list()) == sorted(f"P{i}" for i in range(20))


def test_presets_in_the_shared_database_on_both_back_ends(database_url, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MUSICXAI_DATABASE_URL", database_url)
    store = presets.PresetStore()
    assert store.database is not None and store.list() == []
    store.save(_preset("Week 1"), password="letmein-2026")
    store.save(_preset("Week 2", description="Cadences."), password="letmein-2026")
    other = presets.PresetStore()  # another server on the same database
    assert [p.name for p in other.list()] == ["Week 1", "Week 2"] and other.get("Week 2").description == "Cadences."
    with pytest.raises(ParameterError, match="exists already"):
        other.save(_preset("Week 1"), password="letmein-2026")
    other.save(_preset("Week 1", description="again"), password="letmein-2026", replace=True)
    assert [p.name for p in store.list()] == ["Week 2", "Week 1"] and store.get("Week 1").description == "again"
    with pytest.raises(ParameterError, match="not the teacher password"):
        store.delete("Week 1", password="nope")
    store.delete("Week 1", password="letmein-2026")
    with pytest.raises(ParameterError, match="no class preset called 'Week 1'"):
        other.delete("Week 1", password="letmein-2026")
    errors = errors_in_threads(lambda i: presets.PresetStore().save(_preset(f"P{i}"), password="letmein-2026"),
                               [(i,) for i in range(12)])
    assert not errors and len(store.list()) == 13
    assert not store.path.exists()  # nothing went to presets.json

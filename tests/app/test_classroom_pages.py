"""The classroom pages: guided tour, class presets (teacher / student), label-noise lab."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app._apptest import APP, ok, open_page
from xai.classroom import presets, share, tour

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("MUSICXAI_SECRET", "classroom-test")
    monkeypatch.setenv("MUSICXAI_TEACHER_PASSWORD", "teach-me")


def _page(path: str) -> AppTest:
    return open_page(path, timeout=120)


def test_the_tour_walks_from_the_answer_to_a_concept_test():
    """Six steps from a Haydn performance's answer to the concept tests; the first shows the answer here."""
    at = _page("pages/tour.py")
    ok(at)
    assert any("The model hears" in m.value for m in at.markdown)  # the answer for the Haydn performance
    seen = []
    for step in range(6):
        seen.append(at.subheader[0].value)
        if step < 5:
            at.button(key="tour_next").click().run()
            ok(at)
    assert seen == [s.title for s in tour.STEPS] and len(set(seen)) == 6
    assert at.button(key="tour_next").disabled
    at.button(key="tour_back").click().run()
    assert at.subheader[0].value == tour.STEPS[-2].title


def test_a_teacher_saves_a_preset_and_a_student_sees_it_read_only():
    teacher = _page("pages/presets.py")
    ok(teacher)
    assert any("no class presets" in i.value for i in teacher.info)
    teacher.text_input(key="pre_password").input("wrong")
    teacher.button(key="pre_unlock").click().run()
    assert "not the teacher password" in teacher.error[0].value
    teacher.text_input(key="pre_password").input("teach-me")
    teacher.button(key="pre_unlock").click().run()
    ok(teacher)
    link = "http://localhost:8501/classify?share=" + share.encode("classify", {"source": "example",
                                                                               "example": "bach: bwv20.7"})
    teacher.text_input(key="pre_link").input(link)
    teacher.text_input(key="pre_name").input("Week 1: a chorale")
    teacher.button(key="pre_save").click().run()
    ok(teacher)
    assert [p.name for p in presets.PresetStore().list()] == ["Week 1: a chorale"]

    student = _page("pages/presets.py")
    ok(student)
    assert any("Week 1: a chorale" in m.value for m in student.markdown)
    keys = [b.key for b in student.button]
    assert not any(k.startswith("pre_del") for k in keys) and "pre_save" not in keys
    # a bad link pasted by the teacher is a plain message
    teacher.text_input(key="pre_link").input("http://x/classify?share=nonsense")
    teacher.text_input(key="pre_name").input("broken")
    teacher.button(key="pre_save").click().run()
    assert "broken" in teacher.error[0].value.lower()


def test_the_label_noise_lab_shows_the_curves_and_trains_a_live_run():
    at = _page("pages/label_noise.py")
    ok(at)
    assert len(at.get("plotly_chart")) >= 1
    at.number_input(key="ln_epochs").set_value(2)
    at.slider(key="ln_noise").set_value(50)
    at.button(key="ln_train").click().run()
    ok(at)
    runs = at.session_state["ln_runs"]
    assert len(runs) == 1 and runs[0]["noise"] == 0.5 and runs[0]["epochs"] == 2
    assert any("Your last run" in m.value for m in at.markdown)
    assert any("?share=" in c.value for c in at.code)


def test_a_label_noise_link_restores_its_settings():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["share"] = share.encode("label_noise", {"kind": "class", "noise": 0.3, "epochs": 4})
    at.run()
    ok(at)
    assert at.radio(key="ln_kind").value == "class"
    assert at.slider(key="ln_noise").value == 30 and at.number_input(key="ln_epochs").value == 4

"""A class of 20: twenty sessions at once, each uploading its own file, none sees another's piece or runs.

Uploads live in each session's own state; the shared caches (pages._cache) are keyed by the file's content, so
a session can only get back what it uploaded itself. Twenty AppTest sessions are open at once and take turns
(AppTest itself is not thread-safe: Streamlit's page-mode switch is process-global); real concurrent browser
sessions are in tests/browser/test_sessions.py.
"""

from __future__ import annotations

import io
import time

import pretty_midi
import pytest
from streamlit.testing.v1 import AppTest

from tests.app._apptest import open_page

pytestmark = pytest.mark.slow
N = 20


def _midi(i: int) -> bytes:
    """A short tune, different for every student (its own pitches), so each file hashes differently."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=0, name=f"Student {i}")
    for k in range(32):
        inst.notes.append(pretty_midi.Note(80, 48 + (i * 5 + k * 3) % 30, k * 0.5, k * 0.5 + 0.45))
    pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def _student(i: int) -> AppTest:
    at = open_page("pages/classify.py", timeout=240)
    at.radio(key="cls_source").set_value("Your own file").run()
    at.file_uploader[0].set_value((f"student_{i:02d}.mid", _midi(i), "audio/midi")).run()
    at.session_state["ln_runs"] = [{"owner": i}]  # unsaved work of this student
    return at


def _titles(at: AppTest) -> set[str]:
    return {h.value for h in at.subheader if h.value.startswith("student_")}


def test_twenty_sessions_keep_their_uploads_and_work_to_themselves():
    t0 = time.perf_counter()
    sessions = [_student(i) for i in range(N)]
    for i, at in enumerate(sessions):
        assert not at.exception, at.exception
        assert not at.error, [e.value for e in at.error]
        assert _titles(at) == {f"student_{i:02d}"}, _titles(at)

    def again(i: int) -> tuple[int, AppTest]:
        return i, sessions[i].run()  # every session reruns after all the others uploaded

    for i, at in map(again, reversed(range(N))):
            assert _titles(at) == {f"student_{i:02d}"}
            assert at.session_state["ln_runs"] == [{"owner": i}]
            names = {f.name for f in at.file_uploader[0].value or []} if isinstance(at.file_uploader[0].value, list) \
                else {getattr(at.file_uploader[0].value, "name", None)}
            assert names <= {f"student_{i:02d}.mid", None}
    print(f"{N} sessions in {time.perf_counter() - t0:.1f} s")

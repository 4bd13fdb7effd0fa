"""AppTest: a recording transcribed on the Listen page is offered, marked as transcribed, by the score views."""

from __future__ import annotations

import io
from pathlib import Path

import pretty_midi
import pytest
from streamlit.testing.v1 import AppTest

from pages._widgets import TRANSCRIBED_KEY, TRANSCRIBED_SOURCE
from xai.symbolic import io as xio

pytestmark = pytest.mark.slow
APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _transcribed_piece():
    """What xai.audio.transcribe hands back (a MIDI file read through xai.symbolic.io, named '<recording> (transcribed)'),
    without running basic-pitch: an arpeggio at 120 qpm, about 24 seconds."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=4)
    for i in range(48):
        t = 0.5 * i
        inst.notes.append(pretty_midi.Note(80, [60, 64, 67, 72][i % 4] + (i // 8) % 3, t, t + 0.45))
    pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return xio.load_bytes(buf.getvalue(), "solo take (transcribed).mid")


def _open(page: str, piece=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if piece is not None:
        at.session_state[TRANSCRIBED_KEY] = piece
    at.run()
    at.switch_page(page)
    return at.run()


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_classify_picks_a_newly_sent_transcription_and_marks_it():
    piece = _transcribed_piece()
    at = _open("pages/classify.py", piece)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    source = at.radio(key="cls_source")
    assert source.value == TRANSCRIBED_SOURCE and TRANSCRIBED_SOURCE in source.options
    assert "The model hears this as" in "\n".join(m.value for m in at.markdown)
    assert [s.value for s in at.subheader] == ["solo take (transcribed)"]
    captions = _captions(at)
    assert "Transcribed from the recording *solo take* by basic-pitch" in captions
    assert "4/4 at a fixed 120 quarter notes a minute" in captions

    # Choosing another source sticks: the transcription is picked for the user only once.
    source.set_value("Your own file").run()
    assert at.radio(key="cls_source").value == "Your own file"
    assert "Transcribed from" not in _captions(at)


def test_without_a_transcription_only_examples_and_files_are_offered():
    at = _open("pages/classify.py")
    assert not at.exception, at.exception
    assert TRANSCRIBED_SOURCE not in at.radio(key="cls_source").options


def test_define_a_concept_offers_the_transcription_to_choose_bars_from():
    at = _open("pages/concepts.py", _transcribed_piece())
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.radio(key="con_p_source").value == TRANSCRIBED_SOURCE
    captions = _captions(at)
    assert "Transcribed from the recording *solo take*" in captions
    assert "**solo take (transcribed)**" in captions


def test_tcav_draws_its_concept_strip_over_the_transcription():
    at = _open("pages/tcav.py", _transcribed_piece())
    at.multiselect(key="tcav_targets").set_value([at.multiselect(key="tcav_targets").options[0]])
    at.number_input(key="tcav_opt_n_random").set_value(at.number_input(key="tcav_opt_n_random").min).run()
    at.button(key="tcav_run").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.radio(key="tcav_strip_source").value == TRANSCRIBED_SOURCE
    assert "Transcribed from the recording *solo take*" in _captions(at)
    assert "tcav_strip_fig" in [c.key for c in at.get("plotly_chart")]

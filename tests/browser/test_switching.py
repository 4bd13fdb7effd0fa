"""State follows the piece: switching pieces, recordings, models or factorisations on every page that has such a
picker leaves no label of the previous one behind (issue #16).

Each test first moves a picker away from its default for piece (or model) A, then switches to B, and checks that
what is shown belongs to B: the picker is back on B's default, and headings and captions name B.
"""

import re

import pytest

from models import registry
from xai import views
from xai.symbolic import examples, io, predict

pytestmark = [pytest.mark.slow, pytest.mark.browser]

A, B = "bach: bwv20.7", "palestrina: Sanctus_60_d"  # a chorale from bar 0; a Sanctus whose source starts later


def _open(page, app_url, title, heading=None, *, model="composer"):
    """A page opened from the sidebar, with ``model`` picked there."""
    page.goto(app_url)
    page.get_by_role("heading", name="Music XAI").first.wait_for()
    if model in registry.available() and _value(page, "Model") != model:
        _select(page, "Model", model)
        _settled(page)
    page.get_by_role("link", name=title).first.click()
    page.get_by_role("heading", name=heading or title).first.wait_for()


def _box(page, label):
    """A selectbox by its label (Streamlit draws it as a combobox input named by the label)."""
    return page.get_by_role("combobox", name=label, exact=True).first


def _value(page, label) -> str:
    return _box(page, label).input_value().strip()


def _open_list(page, label):
    """Open a selectbox's list: its arrow button, else the keyboard (a rerun may redraw the box under a click)."""
    opts = page.get_by_role("option")
    for attempt in range(6):
        _settled(page)
        box = _box(page, label)
        if attempt % 2 == 0:
            box.locator("xpath=following-sibling::button").click()
        else:
            box.focus()
            page.keyboard.press("ArrowDown")
        page.wait_for_timeout(1500)
        if opts.count():
            return opts
        page.keyboard.press("Escape")
    opts.first.wait_for()
    return opts


def _options(page, label) -> list[str]:
    texts = [t.strip() for t in _open_list(page, label).all_inner_texts()]
    page.keyboard.press("Escape")
    return texts


def _select(page, label, option: str) -> None:
    _open_list(page, label)
    page.get_by_role("option", name=option, exact=True).first.click()


def _select_nth(page, label, n: int) -> str:
    opt = _open_list(page, label).nth(n)
    text = opt.inner_text().strip()
    opt.click()
    return text


def _settled(page) -> None:
    """The rerun a widget started has finished (the 'Running...' indicator is gone)."""
    page.wait_for_timeout(500)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=180000)


def _wait_value(page, label, expected: str) -> None:
    page.wait_for_function(
        """([label, expected]) => [...document.querySelectorAll('input[role="combobox"]')]
             .some(i => i.getAttribute('aria-label') === label && i.value.trim() === expected)""",
        arg=[label, expected], timeout=180000)


def _wait_replaced(page, label, old: str) -> None:
    """A rerun has redrawn the selectbox: no box with this label shows ``old`` any more (changed or gone)."""
    page.wait_for_function(
        """([label, old]) => ![...document.querySelectorAll('input[role="combobox"]')]
             .some(i => i.getAttribute('aria-label') === label && i.value.trim() === old)""",
        arg=[label, old], timeout=180000)


def _best_window_caption(name: str) -> str:
    pred = predict.classify(io.load(examples.example_path(name)), registry.load("composer"))
    return "★ " + views.window_caption(pred, pred.most_confident(3)[0])


def test_classify_window_follows_the_piece_and_the_model(page, app_url):
    _open(page, app_url, "Classify a piece")
    label = "Window to hear and read"
    _box(page, label).wait_for()
    assert _value(page, label) == _best_window_caption(A)
    picked = _select_nth(page, label, 1)  # another window of A
    _wait_value(page, label, picked)
    _select(page, "Example", B)
    expected = _best_window_caption(B)
    _wait_value(page, label, expected)  # B's best window, not A's window number carried over
    bars = re.search(r"bars? [\d–]+", expected).group(0)
    page.get_by_text(f"Hear {bars}", exact=False).first.wait_for()
    others = [n for n in registry.available("symbolic") if n != "composer"]
    if others:  # another model: the window named is its own best, in its own classes
        _select(page, "Model", others[0])
        _settled(page)
        first = _options(page, label)[0]
        _wait_value(page, label, first)
        assert first != expected and any(c in first for c in registry.card(others[0])["classes"]), first


def test_lime_and_attack_bars_follow_the_piece(page, app_url):
    _open(page, app_url, "Explain with LIME")
    _box(page, "From bar").wait_for()
    _select(page, "From bar", "5")
    _wait_value(page, "From bar", "5")
    _select(page, "Example", B)
    _wait_value(page, "From bar", "(where the model is surest)")
    first_b = int(io.load(examples.example_path(B)).bar_numbers[0])
    assert _options(page, "From bar")[1] == str(first_b)


def test_define_a_concept_bars_follow_the_piece(page, app_url):
    _open(page, app_url, "Define a concept")
    first = page.get_by_label("First bar")
    first.wait_for()
    nums_b = io.load(examples.example_path(B)).bar_numbers
    first.fill("3")
    first.press("Enter")
    _settled(page)
    _select(page, "Example", B)
    page.get_by_text(f"(bars {int(nums_b.min())}–{int(nums_b.max())})", exact=False).wait_for()
    page.wait_for_function("v => document.querySelector('input[aria-label=\"First bar\"]').value === v",
                           arg=str(int(nums_b.min())), timeout=120000)


@pytest.mark.skipif(not registry.available("audio"), reason="no audio model ships")
def test_listen_models_say_how_often_they_are_right_and_follow_the_recording(page, app_url):
    _open(page, app_url, "Listen to a recording", "Listen: instrument and style from a recording")
    label = "Style model"
    _box(page, label).wait_for()
    for option in _options(page, label):  # every style model offered with its measured accuracy
        assert re.match(r"\d+% right \(chance \d+%\) · ", option), option
    other = _select_nth(page, label, 1)
    _wait_value(page, label, other)
    page.get_by_text("The style model hears").wait_for()
    first, second = _options(page, "Example")[:2]
    _select(page, "Example", second)
    _settled(page)
    page.locator('[data-testid="stMain"]').get_by_text(f"True style {second.split(':')[0]}").first.wait_for()
    assert first != second


def _factorisation_on_show(page, *, measured: bool) -> None:
    """The result for the settings on show: computed if needed, after which its message and button are gone.

    The time it announces comes from measured time per excerpt; once a run was timed on this server, from that.
    """
    page.get_by_text("Explained variance").or_(page.get_by_text("Not computed yet")).first.wait_for(timeout=180000)
    info = page.get_by_text("Not computed yet", exact=False)
    if info.count():
        text = info.first.inner_text()
        assert "a few seconds" not in text and ("measured on this server" in text if measured else
                                                re.search(r"about \d+ (seconds|minutes)|seconds to minutes", text)), text
        page.get_by_role("button", name="Run a new factorisation").click()
        page.get_by_text("Explained variance").first.wait_for(timeout=400000)
        _settled(page)
        assert page.get_by_text("Not computed yet", exact=False).count() == 0
        assert page.get_by_role("button", name="Run a new factorisation").count() == 0


@pytest.mark.skipif("composer" not in registry.available(), reason="discovery runs on the style classifier")
def test_discovered_concepts_follow_the_factorisation(page, app_url):
    _open(page, app_url, "Discovered concepts")
    slider = page.locator('[data-testid="stSlider"]', has_text="Concepts (K)").get_by_role("slider")
    slider.wait_for()
    label = "Concept"
    _settled(page)
    before = _value(page, label) if _box(page, label).count() else None
    slider.focus()
    page.keyboard.press("Home")  # the smallest K: quick to factorise
    if before is not None:
        _wait_replaced(page, label, before)
    _settled(page)
    _factorisation_on_show(page, measured=False)
    picked = _select_nth(page, label, 1)
    _wait_value(page, label, picked)
    slider.focus()
    page.keyboard.press("ArrowRight")  # another factorisation: its concept 2 is not the last one's
    _wait_replaced(page, label, picked)  # the rerun the slider started has reached the page (under load, > 0.5 s)
    _settled(page)
    _factorisation_on_show(page, measured=True)
    _box(page, label).wait_for()
    assert _value(page, label).startswith("Concept 1 "), (picked, _value(page, label))


def test_hubness_song_follows_the_embedding(page, app_url):
    _open(page, app_url, "Recommender hubness")
    label = "Song"
    _box(page, label).wait_for()
    picked = _select_nth(page, label, 3)
    _wait_value(page, label, picked)
    _select(page, "Embedding", "instrument")
    _wait_value(page, "Embedding", "instrument")
    page.wait_for_function(  # one picker left (the last embedding's is gone once the rerun ends), on a new song
        """picked => { const s = document.querySelectorAll('input[role="combobox"][aria-label="Song"]');
                       return s.length === 1 && s[0].value.trim() !== picked; }""", arg=picked, timeout=240000)
    _settled(page)
    shown = _value(page, label)
    assert shown != picked and shown in _options(page, label), (picked, shown)  # a song of this embedding

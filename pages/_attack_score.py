"""The Attack page's score tab: the fewest note edits that change a score model's answer (layout only)."""


import streamlit as st

from models import registry
from pages import _cache as cache
from pages._attack_run import ANY, K, chart, request, requested, run_with_progress
from pages._widgets import belongs_to, choose_piece, show_svgs
from xai.attacks import notes as sym
from xai.errors import XaiError
from xai.symbolic import music, score
from xai.views import attacks as av

EDIT_COLOUR = "#D94801"  # bars and voices a note attack edited, on the score


# --- tab 2: a score ----------------------------------------------------------------------------------------------


def score_tab() -> None:
    names = registry.available()
    if not names:
        st.warning("No score model ships with this installation.")
        return
    try:
        piece = choose_piece(K + "sym_", upload_hint="Upload a score or MIDI file to look for note edits.")
    except XaiError as e:
        st.error(str(e))
        return
    if piece is None:
        return
    mname = st.session_state.get("model_name") or "composer"
    model = cache.model(mname if mname in names else ("composer" if "composer" in names else names[0]))
    seconds = music.input_spec(model).grid == "seconds"
    st.caption(f"Model: `{model.name}` (pick another in the sidebar).")
    bars = [int(b) for b in piece.bar_numbers]
    belongs_to(cache.piece_key(piece), {K + "sym_bar": bars[0]}, tag=K + "sym_bars_of")  # this piece's bars
    c1, c2, c3, c4 = st.columns(4)
    first = c1.selectbox("From bar", bars, key=K + "sym_bar")
    n_bars = c2.number_input("Bars", 1, 32 if seconds else 16, 8 if seconds else 4, key=K + "sym_n",
                             help="The excerpt the model classifies; about 20 seconds of music fill one of this "
                                  "model's windows." if seconds else
                                  "The excerpt the model classifies; 4 bars of 4/4 fill one window.")
    target = c3.selectbox("Goal", [ANY, *model.classes], key=K + "sym_target")
    max_edits = c4.number_input("Most edits", 1, 32, 8, key=K + "sym_max")
    pitches = st.radio("Inserted notes use", ["piece", "chromatic"], horizontal=True, key=K + "sym_pitches",
                       format_func={"piece": "the piece's own pitch classes", "chromatic": "any pitch"}.get)
    last = bars[min(bars.index(first) + int(n_bars) - 1, len(bars) - 1)]
    try:
        a, b = piece.bar_range(first, last)
        excerpt = piece.slice(a, b)
    except XaiError as e:
        st.error(str(e))
        return
    if excerpt.n_notes == 0:
        st.info("These bars have no notes; choose others.")
        return
    tgt = None if target == ANY else model.classes.index(target)
    key = ("sym", cache.piece_key(piece), model.name, first, last, tgt, int(max_edits), pitches)
    st.button("Find the fewest note edits", type="primary", key=K + "sym_run", on_click=request, args=("sym", key),
              icon=":material/edit_note:")
    res = cache.attack_cached(key)
    if res is None and requested("sym", key):
        try:
            res = run_with_progress("sym", key, lambda p: sym.attack_piece(
                excerpt, model, target=tgt, max_edits=int(max_edits), pitches=pitches, progress=p), "Searching")
        except XaiError as e:
            st.error(str(e))
            return
    if res is None:
        st.info("Each round ranks every possible insertion (a note on the beat grid) and deletion by the gradient, "
                "checks the best 48 exactly and keeps the one that moves the model most; it stops at the flip.")
        return
    d = res.summary()
    if res.success:
        st.success(f"**{len(res.edits)} edit{'s' if len(res.edits) != 1 else ''}** of {excerpt.n_notes} notes change "
                   f"the answer from *{d['original']}* to **{d['adversarial']}** "
                   f"({res.adversarial_probs.max():.2f}).")
    else:
        st.warning(f"{len(res.edits)} edits did not change the answer (*{d['adversarial']}*); allow more edits or any "
                   f"pitch.")
    st.markdown("\n".join(f"{i + 1}. {e['text']}" for i, e in enumerate(d["edits"])))
    chart(av.roll_diff(excerpt, res.adversarial, res.edits), "roll")
    chart(av.probabilities(res.classes, res.original_probs, res.adversarial_probs), "sym_probs")
    c1, c2 = st.columns(2)
    try:
        c1.markdown("**Original bars**")
        c1.audio(cache.rendered_piece(str(key) + "o", excerpt))
        c2.markdown("**Edited bars**")
        c2.audio(cache.rendered_piece(str(key) + "a", res.adversarial))
    except XaiError as e:
        st.error(str(e))
    _edited_score(piece, first, last, d["edits"])
    st.download_button("Edited bars (MIDI)", music.to_midi_bytes(res.adversarial), file_name="edited.mid",
                       mime="audio/midi", key=K + "sym_midi", on_click="ignore")
    st.caption("Judge by ear and eye whether the change is musically small: the model's answer moved, "
               "has the style?")


def _edited_score(piece, first: int, last: int, edits: list[dict]) -> None:
    """The original score of the attacked bars, with the voices the attack edited coloured, bar by bar."""
    if piece.source is None or not piece.source.is_scored or not edits:
        return
    with st.expander("The score of these bars, edited voices in colour"):
        try:
            svgs = cache.engrave(cache.piece_key(piece), first, last, piece, max_pages=2)
            marks = sorted({(int(e["bar"]), int(e["part"]), EDIT_COLOUR) for e in edits})
            show_svgs(score.highlight(svgs, marks, n_parts=len(piece.part_names)), height=460)
            st.caption("The original notes; each bar and voice where a note was added or removed is coloured "
                       "(the whole bar where the score has no staff per voice). The list above says which notes.")
        except XaiError as e:
            st.caption(str(e))



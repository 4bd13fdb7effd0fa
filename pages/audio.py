"""Listen: which instrument and which style the audio models hear in a recording, second by second.

Input is an uploaded recording (WAV, FLAC, Ogg, MP3) or a bundled example, some of them rendered by sounds
the models never heard in training. Everything slow is cached in ``pages._cache``; every figure comes from
``xai.views.audio``. Any :class:`~xai.errors.XaiError` is shown once as a plain sentence.
"""

import html

import streamlit as st

from models import registry
from pages import _cache as cache
from pages import _cache_audio as audio_cache
from pages._nav import SECTIONS, require_entrypoint
from pages._share import restored_state, share_panel
from pages._widgets import (
    TRANSCRIBED_KEY,
    TRANSCRIBED_SOURCE,
    choose_clip,
    model_label,
    use_transcription,
)
from xai import views
from xai.audio import clip as audio
from xai.audio import examples as audio_examples
from xai.audio import predict as audio_predict
from xai.audio import transcribe
from xai.errors import XaiError
from xai.export import finding as fmod
from xai.export import report
from xai.views import audio as audio_views

K = "aud_"
PLOT_CONFIG = {"displaylogo": False}
SPECTROGRAM_SECONDS = 60.0
SCORE_VIEWS = ("pages/classify.py", "pages/concepts.py", "pages/tcav.py", "pages/discover.py")  # the pages that use choose_piece


def _model_card(name: str) -> None:
    c = registry.card(name)
    m = c["metrics"]
    st.markdown(f"**{c['title']}** (`{name}`)")
    line = f"Test accuracy {m['test']['accuracy']:.2f} on {m['test']['n']} clips"
    if "test_heldout_soundfont" in m:
        line += f"; on the held-out soundfont {m['test_heldout_soundfont']['accuracy']:.2f}"
    if "test_pgd" in m:
        a = m["test_pgd"]
        line += f"; under a small waveform attack ({a['mean_snr_db']:.0f} dB SNR) {a['attacked_accuracy']:.2f}"
    if "test_start_shifted" in m:
        line += f"; when a clip does not start on a note onset {m['test_start_shifted']['late']:.2f}"
    st.caption(line + ". Reproduce: `" + c["reproduce"] + "`")
    st.plotly_chart(audio_views.confusion(m["test"]["confusion"], c["classes"]), config=PLOT_CONFIG,
                    key=K + "conf_" + name)
    if c["architecture"].get("front_end") == "learnable":
        mel, learned, freqs = audio_cache.audio_filterbanks(name)
        st.plotly_chart(audio_views.filterbanks(mel, learned, freqs), config=PLOT_CONFIG, key=K + "fb_" + name)


def _restore(names: list[str]) -> None:
    """Settings from a share link into the widgets, before they are drawn (unknown values are left out)."""
    state = restored_state("audio")
    if not state:
        return
    titles = audio_examples.titles()
    if state.get("source") == "example" and state.get("example") in titles:
        st.session_state[K + "source"], st.session_state[K + "example"] = "An example recording", state["example"]
    elif state.get("source") == "upload":
        st.info("This link was made with its author's own recording, which a link does not carry: open the same "
                "file below to see the same result.")
    for what in ("instrument", "style"):
        if state.get(what) in names:
            st.session_state[K + what] = state[what]


def _share(clip, preds: dict, figures: list) -> None:
    """Report (figures, the recording's first 30 s), numbers and a link to this view."""
    ss = st.session_state
    example = ss.get(K + "source") == "An example recording"
    state = {"source": "example" if example else "upload", "example": ss.get(K + "example") if example else None,
             **{what: name for what, (name, _) in preds.items()}}
    numbers = {what: {"model": name, "classes": list(p.classes),
                      "probabilities": {c: round(float(v), 6) for c, v in zip(p.classes, p.probabilities)}}
               for what, (name, p) in preds.items()}
    seconds = min(30.0, clip.duration_seconds)
    wav = audio.to_wav_bytes(clip.waveform[: int(seconds * clip.sample_rate)])
    title = (ss.get(K + "example") if example else "A recording") or "A recording"
    finding = fmod.Finding(
        view="audio", title=f"Listen: {title}",
        summary=" ".join(audio_predict.sentence(p, what) for what, (_, p) in preds.items()),
        parameters={k: v for k, v in state.items() if v is not None}, numbers=numbers,
        model=next(iter(preds.values()))[0] if preds else None,
        sections=(report.Section("What the models hear", figures=tuple(figures)),
                  report.Section("The recording", audio=((f"The first {seconds:.0f} s", wav),))))
    share_panel(finding, state, key=K)


require_entrypoint()
st.title("Listen: instrument and style from a recording")
names = registry.available("audio")
if not names:
    st.warning("No audio model ships with this installation; run `python -m training.train instrument`.")
    st.stop()

_restore(names)
try:
    clip = choose_clip(K, upload_hint="Upload a recording to hear what the audio models make of it.", provenance=True)
except XaiError as e:
    st.error(str(e))
    clip = None

if clip is not None:
    st.audio(audio.to_wav_bytes(clip.waveform), format="audio/wav")  # the WAV header carries the rate
    st.caption(f"{clip.duration_seconds:.1f} s · read at {clip.original_sample_rate:,} Hz, "
               f"{clip.original_channels} channel{'s' if clip.original_channels != 1 else ''}; the models hear it "
               f"in mono at {clip.sample_rate:,} Hz.")
    instrument = [n for n in names if registry.card(n).get("task") == "instrument"]
    style = [n for n in names if registry.card(n).get("task") == "style"]
    first = instrument[0] if instrument else names[0]
    try:
        spec = audio_cache.audio_spectrogram(clip, first, SPECTROGRAM_SECONDS)
        st.plotly_chart(audio_views.spectrogram(spec), config=PLOT_CONFIG, key=K + "spec")
        cols = st.columns(2)
        preds, figures = {}, []
        for col, group, what in ((cols[0], instrument, "instrument"), (cols[1], style, "style")):
            if not group:
                continue
            with col:
                name = st.selectbox(f"{what.capitalize()} model", group, key=K + what, format_func=model_label)
                pred = audio_cache.classify_audio(clip, name)
                preds[what] = (name, pred)
                st.markdown(audio_predict.sentence(pred, what, markup=True), unsafe_allow_html=True)
                outside = audio_cache.audio_outside(clip, name)
                if outside is not None and outside.outside:
                    st.warning(outside.message, icon=":material/explore_off:")
                elif outside is not None:
                    st.caption(outside.message)
                figures.append(audio_views.probabilities_over_time(pred))
                st.plotly_chart(figures[-1], config=PLOT_CONFIG, key=K + "t_" + what)
                if (shifted := audio_views.start_shift_caption(registry.card(name))) is not None:
                    st.caption(shifted)
                if pred.midlevel is not None:
                    ml = registry.card(name)["midlevel"]
                    st.plotly_chart(audio_views.midlevel_bars(pred, ml["train_mean"], ml["train_std"],
                                                              descriptions=ml["descriptions"]),
                                    config=PLOT_CONFIG, key=K + "mid")
                    st.caption("The class decision is a weighted sum of exactly these features; "
                               "see the model card for the weights.")
        with st.expander("Share or export this result", icon=":material/share:"):
            _share(clip, preds, figures)
    except XaiError as e:
        st.error(str(e))

if clip is not None:
    st.subheader("Transcribe to notes")
    if not transcribe.available():
        st.info("Transcription needs basic-pitch and onnxruntime (see requirements-nodeps.txt).")
    elif st.toggle("Transcribe this recording with basic-pitch", key=K + "transcribe"):
        try:
            piece = audio_cache.transcription(clip)
            st.caption(f"**{piece.title}** · {piece.n_notes:,} notes. "
                       + transcribe.describe(piece))
            names_sym = registry.available()
            if names_sym:
                sym = st.session_state.get("model_name") or names_sym[0]
                pred = cache.classify(cache.piece_key(piece), sym, piece)
                st.markdown(f"The symbolic model `{sym}` reads the transcribed notes as <b><i>"
                            f"{html.escape(pred.label)}</i></b> ({pred.piece_probabilities.max():.2f}).",
                            unsafe_allow_html=True)
            st.plotly_chart(audio_views.transcription_over_spectrogram(
                audio_cache.audio_spectrogram(clip, first, SPECTROGRAM_SECONDS), piece), config=PLOT_CONFIG,
                key=K + "overlay")
            st.caption("Each cyan line is a transcribed note at the band of its fundamental: energy with no line "
                       "was missed, a line with no energy under it was invented."
                       + (f" Only the first {SPECTROGRAM_SECONDS:g} s are drawn." if clip.duration_seconds
                          > SPECTROGRAM_SECONDS else ""))
            if names_sym:
                with st.expander("The transcription as a piano roll, with the symbolic model's windows"):
                    st.plotly_chart(views.piano_roll(piece, prediction=pred), config=PLOT_CONFIG, key=K + "roll")
            use, download = st.columns(2)
            use.button("Use this transcription in the score views", key=K + "use", icon=":material/input:",
                       on_click=use_transcription, args=(piece,),
                       help=f"Classify a piece, Define a concept, TCAV's strip and Discovered concepts then offer it as "
                            f"'{TRANSCRIBED_SOURCE}'.")
            download.download_button("Download the transcription (MIDI)", piece.source.data,
                                     file_name=piece.source.name, mime="audio/midi", key=K + "midi",
                                     on_click="ignore")
            sent = st.session_state.get(TRANSCRIBED_KEY)
            if sent is not None and cache.piece_key(sent) == cache.piece_key(piece):
                st.success(f"The score views now offer this transcription as *{TRANSCRIBED_SOURCE}*:")
                for v in (v for vs in SECTIONS.values() for v in vs if v.path in SCORE_VIEWS):
                    st.page_link(v.path, label=v.title, icon=v.icon)
        except XaiError as e:
            st.error(str(e))

with st.expander("The audio models: cards, confusion matrices, filter banks"):
    for n in names:
        with st.container(border=True):
            _model_card(n)

"""``python -m xai lime FILE --target CLASS ...``: LIME over musical segments with its baseline, deletion check
and stability, printed as text or JSON.

A score (MIDI, MusicXML, ABC, Humdrum) is explained over bars x voices or bars x registers for a symbolic
model, or over its separately rendered parts (``--segments stems``) for an audio model; a recording
(WAV/FLAC/Ogg/MP3) over time x frequency bands for an audio model (``--model instrument`` etc.).
"""

from __future__ import annotations

import sys

from xai.errors import ParameterError

__all__ = ["add_commands"]


def add_commands(sub) -> None:
    p = sub.add_parser("lime", help="LIME over musical segments (bars x voices/registers, time x bands, stems), "
                       "beside a trivial baseline, a deletion check and a stability score")
    p.add_argument("file", help="a score or MIDI file, or a recording (.wav/.flac/.ogg/.mp3)")
    p.add_argument("--target", metavar="CLASS", help="the class to explain (default: the predicted one)")
    p.add_argument("--segments", choices=("auto", "bars-voices", "bars-registers", "time-bands", "stems"),
                   default="auto", help="segments: scores default to bars-voices (bars-registers without parts), "
                   "recordings to time-bands")
    p.add_argument("--model", help="model name (default: composer for scores, style_audio for recordings and stems)")
    p.add_argument("--samples", type=int, help="random coalitions (default 1000; all of them with <= 12 segments)")
    p.add_argument("--kernel-width", type=float, help="LIME kernel width on the cosine distance (default 0.25)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling (default 0)")
    p.add_argument("--top-k", type=int, default=3, help="top segments compared by the stability check (default 3)")
    p.add_argument("--stability-seeds", type=int, help="seeds for the stability check (default 5)")
    p.add_argument("--start-bar", type=int, help="scores: first bar explained (default: where the model is surest)")
    p.add_argument("--bars", type=int, help="scores: how many bars (default 8)")
    p.add_argument("--bars-per-segment", type=int, default=2, help="scores: bars per segment (default 2)")
    p.add_argument("--registers", type=int, default=3, help="scores without parts: pitch bands (default 3)")
    p.add_argument("--start-s", type=float, default=0.0, help="recordings: start of the 4-s window (default 0)")
    p.add_argument("--time-segments", type=int, default=5, help="recordings: time segments (default 5)")
    p.add_argument("--bands", type=int, default=4, help="recordings: frequency bands (default 4)")
    p.add_argument("--off", choices=("mean", "zero", "noise"), default="mean",
                   help="recordings: what a switched-off cell holds (default mean)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run, show=show)


def _progress(f: float, m: str, state={"last": -1}) -> None:  # noqa: B006 - a counter shared by the calls of one run
    step = int(f * 4)
    if step != state["last"]:
        state["last"] = step
        print(f"{f:4.0%} {m}", file=sys.stderr)


def run(args) -> dict:
    from models import registry
    from xai.audio import clip as audio
    from xai.cli import _is_recording
    from xai.local import lime
    from xai.symbolic import io

    recording = _is_recording(args.file)
    kind = args.segments
    if kind == "auto":
        kind = "time-bands" if recording else "auto"
    audio_models = registry.available("audio")
    common = dict(samples=args.samples, kernel_width=args.kernel_width, seed=args.seed, top_k=args.top_k,
                  stability_seeds=args.stability_seeds, progress=_progress)
    if recording:
        if kind != "time-bands":
            raise ParameterError("A recording is explained over time x frequency bands (--segments time-bands); "
                                 "bars, voices and stems need a score.")
        name = args.model or "style_audio"
        if name not in audio_models:
            raise ParameterError(f"The model '{name}' reads scores, not recordings; for a recording use --model "
                                 f"with one of: {', '.join(audio_models)}.")
        model = registry.load(name)
        clip = audio.load_audio(args.file)
        r = lime.explain_audio(model, clip.waveform, args.target, n_time=args.time_segments, n_bands=args.bands,
                               off=args.off, start_s=args.start_s, **common)
    elif kind == "time-bands":
        raise ParameterError("Time x frequency bands explain a recording; for a score use bars-voices, "
                             "bars-registers or stems.")
    elif kind == "stems":
        name = args.model or "style_audio"
        if name not in audio_models:
            raise ParameterError(f"Stems are heard by an audio model; use --model with one of: "
                                 f"{', '.join(audio_models)}.")
        r = lime.explain_stems(io.load(args.file), registry.load(name), args.target, start_bar=args.start_bar,
                               n_registers=args.registers, **common)
    else:
        name = args.model or "composer"
        if name in audio_models:
            raise ParameterError(f"The model '{name}' hears recordings; explain a score with a symbolic model "
                                 f"(e.g. composer), or use --segments stems.")
        r = lime.explain_piece(io.load(args.file), registry.load(name), args.target, segments=kind,
                               start_bar=args.start_bar, n_bars=args.bars, bars_per_segment=args.bars_per_segment,
                               n_registers=args.registers, **common)
    return r.to_dict()


def show(result: dict) -> None:
    print(f"{result['model']}: LIME for '{result['target']}' (p = {result['probability']:.3f}; "
          f"{result['probability_all_removed']:.3f} with every segment removed), "
          f"{len(result['segments'])} segments ({result['kind']}), "
          f"{'all ' + str(result['samples']) + ' coalitions (exact)' if result['exact'] else str(result['samples']) + ' samples'}")
    base = [k for k in result["rankings"] if k not in ("lime", "random")][0]
    for s in result["segments"][:10]:
        print(f"  {s['label']}: {s['weight']:+.3f}   ({base} {s[base]:g})")
    if len(result["segments"]) > 10:
        print(f"  … {len(result['segments']) - 10} more")
    dm = result["deletion_mean"]
    print("deletion check (mean probability as the top-k are removed; lower = finds what matters sooner): "
          + ", ".join(f"{k} {v:.3f}" for k, v in dm.items()))
    st = result["stability"]
    print(f"stability: top-{st['top_k']} agreement over {len(st['seeds'])} seeds (mean Jaccard) "
          f"{st['mean_jaccard']:.2f}{' (exact enumeration)' if st.get('exact') else ''}")
    print(f"fidelity R² {result['fidelity_r2']:.2f}: {result['fidelity_warning']}")

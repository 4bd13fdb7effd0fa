"""``python -m xai lime FILE --target CLASS ...``: LIME over musical segments with its baseline, deletion check
and stability, printed as text or JSON.

A score or performance (MIDI, MusicXML, ABC, Humdrum) is explained over bars x voices or bars x registers for a
symbolic model (a model that reads seconds, such as ``piano_composer``, has its segments cited by clock time too), or over its separately rendered parts (``--segments stems``) for an audio model; a recording
(WAV/FLAC/Ogg/MP3) over time x frequency bands for an audio model (``--model instrument`` etc.).
"""

from __future__ import annotations

import sys

from models import registry
from xai.audio import clip as audio
from xai.cli.audio import _is_recording
from xai.errors import ParameterError
from xai.local import lime
from xai.local.lime import AudioGridOptions, LimeOptions, PieceGridOptions
from xai.symbolic import io

__all__ = ["add_commands", "run", "show"]


def add_commands(sub) -> None:
    """Add ``lime`` to the CLI; LIME's option flags come from :class:`xai.local.lime.LimeOptions`."""
    p = sub.add_parser("lime", help="LIME over musical segments (bars x voices/registers, time x bands, stems), "
                       "beside a trivial baseline, a deletion check and a stability score")
    p.add_argument("file", help="a score or MIDI file, or a recording (.wav/.flac/.ogg/.mp3)")
    p.add_argument("--target", metavar="CLASS", help="the class to explain (default: the predicted one)")
    p.add_argument("--segments", choices=("auto", "bars-voices", "bars-registers", "time-bands", "stems"),
                   default="auto", help="segments: scores default to bars-voices (bars-registers without parts), "
                   "recordings to time-bands")
    p.add_argument("--model", help="model name (default: composer for scores, style_audio for recordings and stems)")
    LimeOptions.add_arguments(p, skip=("random_state",))
    p.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                   help="seed of the sampling (default 0)")
    p.add_argument("--start-bar", type=int, help="scores: first bar explained (default: where the model is surest)")
    grid = {s["name"]: s for s in PieceGridOptions.spec()}
    p.add_argument("--bars", dest="n_bars", type=int, default=None,
                   help=f"scores: how many bars (default {grid['n_bars']['default']}; for a model that reads seconds, "
                        "such as piano_composer, the whole bars lasting about one of its 20-s windows)")
    p.add_argument("--bars-per-segment", type=int, default=grid["bars_per_segment"]["default"],
                   help="scores: bars per segment (default 2)")
    p.add_argument("--registers", dest="n_registers", type=int, default=grid["n_registers"]["default"],
                   help="scores without parts: pitch bands (default 3)")
    p.add_argument("--start-s", type=float, default=0.0, help="recordings: start of the 4-s window (default 0)")
    cells = {s["name"]: s for s in AudioGridOptions.spec()}
    p.add_argument("--time-segments", dest="n_time", type=int, default=cells["n_time"]["default"],
                   help="recordings: time segments (default 5)")
    p.add_argument("--bands", dest="n_bands", type=int, default=cells["n_bands"]["default"],
                   help="recordings: frequency bands (default 4)")
    p.add_argument("--off", choices=cells["off"]["choices"], default=cells["off"]["default"],
                   help="recordings: what a switched-off cell holds (default mean)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run, show=show)


def _progress(f: float, m: str, state={"last": -1}) -> None:  # noqa: B006 - a counter shared by the calls of one run
    step = int(f * 4)
    if step != state["last"]:
        state["last"] = step
        print(f"{f:4.0%} {m}", file=sys.stderr)


def _audio_model(name: str, why: str):
    audio_models = registry.available("audio")
    if name not in audio_models:
        raise ParameterError(why.format(name=name, models=", ".join(audio_models)))
    return registry.load(name)


def run(args) -> dict:
    """Explain the file with LIME (the kind of segments from the file and ``--segments``); the summary as a dict."""
    recording = _is_recording(args.file)
    kind = args.segments
    if kind == "auto":
        kind = "time-bands" if recording else "auto"
    common = LimeOptions.from_args(args).to_dict() | {"progress": _progress}
    if recording:
        if kind != "time-bands":
            raise ParameterError("A recording is explained over time x frequency bands (--segments time-bands); "
                                 "bars, voices and stems need a score.")
        model = _audio_model(args.model or "style_audio", "The model '{name}' reads scores, not recordings; for a "
                             "recording use --model with one of: {models}.")
        r = lime.explain_audio(audio.load_audio(args.file).waveform, model, args.target, n_time=args.n_time,
                               n_bands=args.n_bands, off=args.off, start_s=args.start_s, **common)
    elif kind == "time-bands":
        raise ParameterError("Time x frequency bands explain a recording; for a score use bars-voices, "
                             "bars-registers or stems.")
    elif kind == "stems":
        model = _audio_model(args.model or "style_audio", "Stems are heard by an audio model; use --model with one "
                             "of: {models}.")
        r = lime.explain_stems(io.load(args.file), model, args.target, start_bar=args.start_bar,
                               n_registers=args.n_registers, **common)
    else:
        name = args.model or "composer"
        if name in registry.available("audio"):
            raise ParameterError(f"The model '{name}' hears recordings; explain a score with a symbolic model "
                                 f"(e.g. composer), or use --segments stems.")
        r = lime.explain_piece(io.load(args.file), registry.load(name), args.target, segments=kind,
                               start_bar=args.start_bar, n_bars=args.n_bars, bars_per_segment=args.bars_per_segment,
                               n_registers=args.n_registers, **common)
    return r.summary()


def show(result: dict) -> None:
    """Print a summary as text: the ranked segments, the deletion check, stability and fidelity."""
    print(f"{result['model']}: LIME for '{result['target']}' (p = {result['probability']:.3f}; "
          f"{result['probability_all_removed']:.3f} with every segment removed), "
          f"{len(result['segments'])} segments ({result['kind']}), "
          f"{'all ' + str(result['samples']) + ' coalitions (exact)' if result['exact'] else str(result['samples']) + ' samples'}")
    o = result["options"]
    if "start_second" in o:  # a model that reads seconds: where the span lies, by bars where they are the music's
        clock = f"{o['start_second']:.1f}–{o['end_second']:.1f} s"
        print(f"  explained: bars {o['start_bar']}–{o['end_bar']} ({clock})" if o.get("bars_known") else
              f"  explained: {clock} (bars {o['start_bar']}–{o['end_bar']} of the file's nominal metre)")
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

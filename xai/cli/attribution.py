"""``python -m xai attribute FILE --model NAME --method ig|saliency|occlusion|gradcam``: captum's attributions
summed onto bars x voices (scores) or time x band cells (recordings), with the completeness gap, the baselines,
the randomisation check, the agreement between methods and with LIME, and the deletion check.
"""

from __future__ import annotations

import sys

from models import registry
from xai.audio import clip as audio
from xai.cli.audio import _is_recording
from xai.errors import ParameterError
from xai.local.attribution import METHOD_NAMES, AttributionOptions, attribute_audio, attribute_piece
from xai.symbolic import io

__all__ = ["add_commands", "run", "show"]


def add_commands(sub) -> None:
    """Add ``attribute`` to the CLI; its option flags come from :class:`xai.local.attribution.AttributionOptions`."""
    p = sub.add_parser("attribute", help="captum attributions (IG, Saliency, Occlusion, Grad-CAM) on the musical "
                       "grid, with the completeness gap, baselines, randomisation check and agreement with LIME")
    p.add_argument("file", help="a score or MIDI file, or a recording (.wav/.flac/.ogg/.mp3)")
    p.add_argument("--model", help="model name (default: composer for scores, style_audio for recordings)")
    p.add_argument("--target", metavar="CLASS", help="the class to explain (default: the predicted one)")
    p.add_argument("--start-bar", type=int, help="scores: the bar the model's window starts on (default: where the "
                   "model is surest)")
    p.add_argument("--start-s", type=float, help="recordings: start of the 4-s window (default 0); models that read "
                   "seconds (piano_composer): the 20-s window starting nearest this second (default: where the model "
                   "is surest)")
    AttributionOptions.add_arguments(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run, show=show)


def _progress(f: float, m: str, state={"last": ""}) -> None:  # noqa: B006 - the last message of one run
    if m != state["last"]:
        state["last"] = m
        print(f"{f:4.0%} {m}", file=sys.stderr)


def run(args) -> dict:
    """Attribute the file's prediction (a score with a symbolic model, a recording with an audio one)."""
    opts = AttributionOptions.from_args(args).to_dict()
    audio_models = registry.available("audio")
    if _is_recording(args.file):
        name = args.model or "style_audio"
        if name not in audio_models:
            raise ParameterError(f"The model '{name}' reads scores, not recordings; for a recording use --model "
                                 f"with one of: {', '.join(audio_models)}.")
        r = attribute_audio(audio.load_audio(args.file).waveform, registry.load(name), args.target,
                            start_s=args.start_s or 0.0, progress=_progress, **opts)
    else:
        name = args.model or "composer"
        if name in audio_models:
            raise ParameterError(f"The model '{name}' hears recordings; attribute a score with a symbolic model "
                                 f"({', '.join(registry.available('symbolic'))}), or a recording with this one.")
        r = attribute_piece(io.load(args.file), registry.load(name), args.target, start_bar=args.start_bar,
                            start_s=args.start_s, progress=_progress, **opts)
    return r.summary()


def show(result: dict) -> None:
    """Print a summary as text: the top segments by the chosen method, then every check."""
    m = result["method"]
    where = (f"4 s from {result['start_s']:g} s" if result["kind"] == "time-bands" else result.get("window")
             or f"bars {result['start_bar']}–{result['end_bar']}")
    print(f"{result['model']}: {METHOD_NAMES[m]} for '{result['target']}' (p = {result['probability']:.3f}), "
          f"{where}, {len(result['segments'])} segments ({result['kind']})")
    for s in result["segments"][:10]:
        print(f"  {s['label']}: {s[m]:+.4f}")
    if len(result["segments"]) > 10:
        print(f"  … {len(result['segments']) - 10} more")
    for b, c in result["completeness"].items():
        print(f"IG from {b}: sum {c['sum']:+.4f} vs logit difference {c['difference']:+.4f} "
              f"(completeness gap {c['gap']:+.4f}); Spearman with {result['options']['baseline']} "
              f"{result['baselines_spearman'][b]}")
    agree = result["agreement"][m]
    print("agreement with the other methods (Spearman): " + ", ".join(
        f"{METHOD_NAMES[k]} {v}" for k, v in agree.items() if k != m))
    rz = result["randomisation"]
    verdict = "changed" if rz["changed"] else "did NOT change: this map does not depend on what the model learned"
    print("randomisation check: Spearman with the trained model after re-initialising "
          + ", ".join(f"{n} {v}" for n, v in zip(rz["layers"], rz["spearman"], strict=True)) + f" -> {verdict}")
    if "spearman" in result["lime"]:
        print("agreement with LIME (Spearman): " + ", ".join(
            f"{METHOD_NAMES[k]} {v:+.2f}" for k, v in result["lime"]["spearman"].items()))
    elif result["lime"].get("note"):
        print(result["lime"]["note"])
    print("deletion check (mean probability as the top-k are removed; lower = finds what matters sooner): "
          + ", ".join(f"{METHOD_NAMES.get(k, k)} {v:.3f}" for k, v in result["deletion_mean"].items()))

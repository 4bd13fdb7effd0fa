"""Command line: ``python -m xai <command> ...`` for batch and scripted use.

Every command prints JSON with ``--json`` (or a short text summary without it). A bad input ends with one
plain sentence on stderr and exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from xai.errors import InputError, ParameterError, XaiError

__all__ = ["main"]


def _predict(args) -> dict:
    from models import registry
    from xai.symbolic import io, predict

    if _is_recording(args.file):
        return _predict_audio(args)
    piece = io.load(args.file)
    model = registry.load(args.model)
    return predict.classify(piece, model).to_dict()


def _print_predict(result: dict) -> None:
    if "recording" in result:
        return _print_predict_audio(result)
    p = result["piece"]
    top = sorted(p["probabilities"].items(), key=lambda kv: -kv[1])
    print(f"{result['model']}: {p['label']} ({', '.join(f'{c} {v:.2f}' for c, v in top)})")
    for w in result["windows"]:
        lab = w["label"] or "(silent)"
        conf = f" {w['probabilities'][lab]:.2f}" if w["label"] else ""
        print(f"  bars {w['start_bar']}-{w['end_bar']}: {lab}{conf}")


def _load_model(name: str):
    from models import registry

    return registry.load(name)


def _check_choice(what: str, value: str, allowed, model_name: str) -> None:
    if value not in allowed:
        raise ParameterError(
            f"There is no {what} '{value}' in the model '{model_name}'; its {what}s are: {', '.join(allowed)}."
        )


def _find_concept(name: str, library, builtins: dict):
    """A concept by name: the user's library first, then the built-in concepts."""
    if name in library:
        return library.get(name)
    if name in builtins:
        return builtins[name]
    known = sorted(set(library.names()) | set(builtins))
    raise InputError(
        f"There is no concept called '{name}' in the library or among the built-in concepts"
        + (f"; known concepts: {', '.join(known)}." if known else ".")
    )


def _tcav(args) -> list[dict]:
    import numpy as np

    from xai.concepts import library as concepts
    from xai.concepts import tcav

    spec = {o["name"]: o for o in tcav.TCAVOptions.spec()}
    for flag, key, value in (("--random-runs", "n_random", args.random_runs),
                             ("--max-examples", "max_examples", args.max_examples)):
        low, high = spec[key]["low"], spec[key]["high"]
        if not low <= value <= high:
            raise ParameterError(f"The '{flag}' option must be an int in [{low}, {high}], got {value}.")
    model = _load_model(args.model)
    targets = list(dict.fromkeys(args.target))
    layers = list(dict.fromkeys(args.layer or [model.default_layer]))
    for t in targets:
        _check_choice("class", t, model.classes, model.name)
    for la in layers:
        _check_choice("layer", la, model.layers, model.name)
    options = tcav.TCAVOptions(n_random=args.random_runs, max_examples=args.max_examples)
    library = concepts.Library(args.library)
    try:
        builtins = concepts.builtin()
    except InputError:  # the shipped sets are missing: the library's concepts can still be tested
        builtins = {}
    wanted = list(dict.fromkeys(args.concept))
    found = {n: concepts.check_usable(_find_concept(n, library, builtins)) for n in wanted}
    other = concepts.check_usable(_find_concept(args.relative_to, library, builtins)) if args.relative_to else None
    pool, sources = concepts.random_pool(), concepts.random_pool_sources()
    class_X = concepts.class_examples()
    for t in targets:
        if t not in class_X:
            raise InputError(f"The shipped concept sets hold no excerpts of the class '{t}' to score.")

    records = []
    for concept in found.values():
        # Random sets never share a piece with the concept(s) tested (see xai.concepts.library.random_pool_sources).
        taken = {e.source_name for c in (concept, other) if c is not None for e in c.examples}
        keep = np.array([s not in taken for s in sources], dtype=bool)
        common = {"class_X": {t: class_X[t] for t in targets}, "random_X": pool[keep], "layers": layers,
                  "targets": targets, "classes": model.classes, "options": options, "random_state": args.seed}
        if other is None:
            res = tcav.score(model.net, concepts.example_rolls(concept), name=concept.name, **common)
        else:
            res = tcav.relative_score(model.net, concepts.example_rolls(concept), concepts.example_rolls(other),
                                      names=(concept.name, other.name), **common)
        recs = res.to_records()
        library.save_run({
            "model": model.name,
            "concepts": [concept.name] + ([other.name] if other else []),
            "targets": targets,
            "layers": layers,
            "parameters": {
                "method": "relative TCAV" if other else "TCAV",
                "relative_to": other.name if other else None,
                "random_state": int(args.seed),
                "options": options.to_dict(),
                "weights_sha256": model.weights_sha256,
                "n_concept_per_set": res.n_concept,
                "n_class": dict(zip(targets, res.n_class)),
                "n_random_pool": int(keep.sum()),
                "command": "python -m xai tcav",
            },
            "results": {
                "records": recs,
                "scores": res.scores,
                "random_scores": res.random_scores,
                "cav_accuracies": res.cav_accuracies,
                "sets": res.sets_,
            },
        })
        records.extend(recs)
    return records


def _print_tcav(records: list[dict]) -> None:
    for r in records:
        what = r["concept"] + (f" (vs {r['relative_to']})" if r["relative_to"] else "")
        verdict = "significant" if r["significant"] else "not significant"
        print(f"{what} -> {r['target']} at {r['layer']}: TCAV {r['tcav_mean']:.2f} +- {r['tcav_std']:.2f} "
              f"(random {r['random_mean']:.2f}), p={r['p_corrected']:.3g} corrected, {verdict}; "
              f"CAV accuracy {r['cav_accuracy']:.2f}, {r['n_random']} runs")


def _layers(args) -> list[dict]:
    from xai.concepts import tcav
    from xai.symbolic import music

    model = _load_model(args.model)
    steps = int(round(model.window_quarters * music.STEPS_PER_QUARTER))
    return tcav.layer_info(model.net, model.layers, input_shape=(2, music.N_PITCHES, steps),
                           default=model.default_layer)


def _print_layers(info: list[dict]) -> None:
    for d in info:
        shape = " x ".join(map(str, d["shape"]))
        notes = ["non-negative" if d["nonnegative"] else "signed"] + (["default"] if d["default"] else [])
        print(f"{d['name']}: {shape} ({d['channels']} channels; {', '.join(notes)})")


def _concepts_list(args) -> list[dict]:
    from xai.concepts import library as concepts

    keys = ("name", "description", "origin", "n_examples", "author", "created")
    out = [{k: c.get(k) for k in keys} | {"source": "library"} for c in concepts.Library(args.library).list()]
    try:
        builtins = concepts.builtin()
    except InputError:
        builtins = {}
    out += [{"name": c.name, "description": c.description, "origin": c.origin, "n_examples": c.n_examples,
             "author": c.author, "created": c.created, "source": "builtin"} for c in builtins.values()]
    return out


def _print_concepts(items: list[dict]) -> None:
    if not items:
        print("No concepts yet.")
    for c in items:
        print(f"{c['name']} ({c['source']}, {c['n_examples']} examples): {c['description']}")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m xai", description="Ask a music model why, from the command line.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="classify a piece: per piece and per bar-aligned window")
    p.add_argument("file", help="MIDI, MusicXML (.xml/.mxl/.musicxml), ABC or Humdrum (.krn) file; or a recording "
                   "(.wav/.flac/.ogg/.mp3) with an audio --model such as 'instrument'")
    p.add_argument("--model", default="composer")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=_predict, show=_print_predict)

    p = sub.add_parser("tcav", help="test whether a class is sensitive to a concept (TCAV, with random-concept tests)")
    p.add_argument("--concept", action="append", required=True, metavar="NAME",
                   help="a concept of the library, else a built-in one (repeat for several)")
    p.add_argument("--target", action="append", required=True, metavar="CLASS", help="a class (repeat for several)")
    p.add_argument("--layer", action="append", metavar="LAYER", help="a layer (repeat; default: the model's default)")
    p.add_argument("--random-runs", type=int, default=20, metavar="N", help="random sets to test against (default 20)")
    p.add_argument("--max-examples", type=int, default=200, metavar="N",
                   help="most excerpts per concept, random and class set (default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--relative-to", metavar="NAME", help="relative TCAV: the concept against this one, not random")
    p.add_argument("--library", metavar="PATH", help="concept library file (default: $MUSICXAI_LIBRARY or the user's)")
    p.add_argument("--model", default="composer")
    p.add_argument("--json", action="store_true", help="print one record per (concept, target, layer) as JSON")
    p.set_defaults(run=_tcav, show=_print_tcav)

    p = sub.add_parser("layers", help="the layers an explanation can address")
    p.add_argument("--model", default="composer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_layers, show=_print_layers)

    p = sub.add_parser("concepts", help="the concept library")
    csub = p.add_subparsers(dest="concepts_command", required=True)
    p = csub.add_parser("list", help="the library's concepts and the built-in ones")
    p.add_argument("--library", metavar="PATH", help="concept library file (default: $MUSICXAI_LIBRARY or the user's)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_concepts_list, show=_print_concepts)

    p = sub.add_parser("discover", help="discover concepts in a layer (NMF or NTD of its feature maps over the "
                       "shipped excerpts): importance per class, top excerpts, fidelity")
    p.add_argument("--layer", metavar="LAYER", help="a layer with a non-negative map (default: the model's default)")
    p.add_argument("--n-concepts", type=int, default=8, metavar="K", help="how many concepts (default 8)")
    p.add_argument("--method", choices=("nmf", "ntd"), default="nmf", help="NMF (as ICE) or NTD (default nmf)")
    p.add_argument("--class", dest="classes", action="append", metavar="CLASS",
                   help="factorise only this class's excerpts (repeat for several; default all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the factorisation (default 0)")
    p.add_argument("--top", type=int, default=5, metavar="N", help="top excerpts listed per concept (default 5)")
    p.add_argument("--curve", action="store_true", help="also measure fidelity for other K (slower)")
    p.add_argument("--precompute", action="store_true",
                   help="compute the default configurations (block3 and block4, NMF and NTD, K=8, with fidelity "
                   "curves) into --out, the results that ship with the app")
    p.add_argument("--out", metavar="DIR", help="folder for --precompute (default: assets/discovery)")
    p.add_argument("--model", default="composer")
    p.add_argument("--json", action="store_true", help="print the concepts and the fidelity as JSON")
    p.set_defaults(run=_discover, show=_print_discover)
    for topic in COMMAND_MODULES:
        _command_module(topic).add_commands(sub)
    return ap


# Subcommands that live in their own module, xai/cli/<topic>.py, each with ``add_commands(sub)`` adding parsers
# whose defaults set ``run`` (args -> JSON-able result) and ``show`` (result -> printed text); every parser has
# ``--json``.
COMMAND_MODULES = ("local", "attacks", "recommender", "classroom")


def _command_module(topic: str):
    from importlib import import_module

    return import_module(f"xai.cli.{topic}")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.run(args)
    except XaiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: there is no file at {e.filename}.", file=sys.stderr)
        return 2
    try:
        if args.json:
            print(json.dumps(result, indent=1))
        else:
            args.show(result)
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
    return 0


# --- recordings (audio models) ----------------------------------------------------------------------------------


def _is_recording(path: str) -> bool:
    from pathlib import PurePath

    from xai.audio.clip import SUPPORTED_AUDIO_EXTENSIONS

    return PurePath(path).suffix.lower() in SUPPORTED_AUDIO_EXTENSIONS


def _predict_audio(args) -> dict:
    from models import registry
    from xai.audio import clip as audio
    from xai.audio import predict as audio_predict

    audio_models = registry.available("audio")
    if args.model not in audio_models:
        raise ParameterError(
            f"The model '{args.model}' reads scores, not recordings; for a recording use --model with one of: "
            f"{', '.join(audio_models) or '(no audio model is installed)'}."
        )
    clip = audio.load_audio(args.file)
    return audio_predict.classify_audio(clip, registry.load(args.model)).to_dict()


def _print_predict_audio(result: dict) -> None:
    r = result["recording"]
    top = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:3]
    print(f"{result['model']}: {r['label']} ({', '.join(f'{c} {v:.2f}' for c, v in top)})")
    for w in result["windows"]:
        lab = w["label"] or "(silent)"
        conf = f" {w['probabilities'][lab]:.2f}" if w["label"] else ""
        print(f"  {w['start_seconds']:7.1f}-{w['end_seconds']:.1f} s: {lab}{conf}")


# --- discovered concepts ----------------------------------------------------------------------------------------


def _discover(args) -> dict | list:
    from pathlib import Path

    from xai.concepts import discovery

    model = _load_model(args.model)
    excerpts = discovery.load_excerpts()
    if tuple(model.classes) != tuple(excerpts.classes):
        raise ParameterError(
            f"The shipped excerpts are labelled with the classes {', '.join(excerpts.classes)}, which the model "
            f"'{model.name}' does not have; discovery runs on the style classifier."
        )
    if args.precompute:
        out = Path(args.out) if args.out else discovery.ASSETS
        return discovery.precompute(model, excerpts, out=out, random_state=args.seed,
                                    progress=lambda m: print(m, file=sys.stderr))
    if args.top < 1:
        raise ParameterError(f"The '--top' option must be an int of at least 1, got {args.top}.")
    layer = args.layer or model.default_layer
    for c in args.classes or ():
        _check_choice("class", c, model.classes, model.name)

    def progress(f, m, state={"last": -1}):  # noqa: B006 - a counter shared by the calls of one run
        step = int(f * 10)
        if step != state["last"]:
            state["last"] = step
            print(f"{f:4.0%} {m}", file=sys.stderr)

    disc, status = discovery.cached(model, excerpts, layer=layer, method=args.method, n_concepts=args.n_concepts,
                                    random_state=args.seed, classes=args.classes, curve=args.curve,
                                    progress=progress)
    out = disc.to_dict(excerpts, top=args.top)
    out["source"] = status
    out["source_text"] = discovery.status_message(status)
    return out


def _print_discover(result) -> None:
    if isinstance(result, list):  # --precompute
        for r in result:
            f = r["fidelity"] or {}
            print(f"{r['layer']} {r['method']} K={r['n_concepts']}: explained variance {r['explained_variance']:.2f}, "
                  f"accuracy {f.get('accuracy', float('nan')):.3f} of {f.get('original_accuracy', float('nan')):.3f}; "
                  f"{r['bytes'] / 1024:.0f} KiB, {r['seconds']:.0f} s")
        return
    f = result["fidelity"]
    print(f"{result['method'].upper()} with {result['n_concepts']} concepts at {result['layer']} "
          f"({result['n_excerpts']} excerpts; {result['source_text']})")
    print(f"explained variance {result['explained_variance']:.2f}; accuracy with the concepts {f['accuracy']:.3f} "
          f"(original {f['original_accuracy']:.3f}), same answer for {f['agreement']:.1%}")
    for p in f.get("curve", []):
        print(f"  K={p['n_concepts']:3d}: accuracy {p['accuracy']:.3f}, agreement {p['agreement']:.3f}, "
              f"explained variance {p['explained_variance']:.2f}")
    for c in result["concepts"]:
        imp = sorted(c["importance"].items(), key=lambda kv: -kv[1])
        print(f"concept {c['id']}: most important for {imp[0][0]} ({imp[0][1]:+.2f}), least for {imp[-1][0]} "
              f"({imp[-1][1]:+.2f})")
        for e in c["top_excerpts"]:
            print(f"    {e['piece']}, bars {e['start_bar']}-{e['end_bar']} (presence {e['score']:.2f})")

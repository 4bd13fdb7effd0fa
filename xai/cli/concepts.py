"""``python -m xai tcav | sanity | layers | concepts list | discover``: the concept methods from the command line.

``sanity`` prints (or recomputes) the TCAV sanity numbers of a model (:mod:`xai.concepts.sanity`); ``tcav`` runs :func:`xai.concepts.experiment.run` (the code path the 'Test a concept' page uses) for each concept
and records every run in the library; ``layers`` lists the layers an explanation can address; ``concepts list``
the library's and the built-in concepts; ``discover`` finds concepts in a layer (:mod:`xai.concepts.discovery`).
The options' flags are built from their declarations (:mod:`xai.concepts.options`), which import no torch, so
``--help`` stays quick; the methods are imported when a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from xai.concepts.options import DiscoveryOptions, SanityOptions, TCAVOptions
from xai.errors import InputError, ParameterError

__all__ = ["add_commands"]

LIBRARY_HELP = "concept library file (default: $MUSICXAI_LIBRARY or the user's)"
# Flags whose names differ from their option's (kept from before the options were declared once).
TCAV_FLAGS = {"n_random": "--random-runs"}


def add_commands(sub) -> None:
    """Add the ``tcav``, ``layers``, ``concepts`` and ``discover`` subcommands to an argparse subparsers object."""
    _add_tcav(sub)
    p = sub.add_parser("layers", help="the layers an explanation can address")
    p.add_argument("--model", default="composer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=layers, show=show_layers)

    p = sub.add_parser("concepts", help="the concept library")
    csub = p.add_subparsers(dest="concepts_command", required=True)
    p = csub.add_parser("list", help="the library's concepts and the built-in ones")
    p.add_argument("--library", metavar="PATH", help=LIBRARY_HELP)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=concepts_list, show=show_concepts)
    _add_discover(sub)
    _add_sanity(sub)


def _add_sanity(sub) -> None:
    p = sub.add_parser("sanity", help="how far to trust TCAV on a model: false-positive rate of random concepts, a "
                       "planted concept, cascading weight randomisation, seed stability")
    p.add_argument("--model", default="composer")
    p.add_argument("--recompute", action="store_true",
                   help="run the suite now (minutes) instead of printing the numbers shipped for the model")
    p.add_argument("--subset", action="store_true", help="with --recompute: only the subset the tests run")
    p.add_argument("--target", action="append", metavar="CLASS", help="a class (repeat; default all)")
    p.add_argument("--layer", action="append", metavar="LAYER", help="a layer (repeat; default all the model's)")
    SanityOptions.add_arguments(p)
    p.add_argument("--seed", "--random-state", dest="random_state", type=int, default=0)
    p.add_argument("--write", action="store_true",
                   help="with --recompute: write the full and the test-subset numbers to the model's asset "
                   "(assets/concepts/sanity_<model>.json) and docs/tcav_sanity.md")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(run=sanity, show=show_sanity)


def _add_tcav(sub) -> None:
    p = sub.add_parser("tcav", help="test whether a class is sensitive to a concept (TCAV, with random-concept tests)")
    p.add_argument("--concept", action="append", required=True, metavar="NAME",
                   help="a concept of the library, else a built-in one (repeat for several)")
    p.add_argument("--target", action="append", required=True, metavar="CLASS", help="a class (repeat for several)")
    p.add_argument("--layer", action="append", metavar="LAYER", help="a layer (repeat; default: the model's default)")
    spec = {s["name"]: s for s in TCAVOptions.spec()}
    p.add_argument("--random-runs", "--n-random", dest="n_random", type=int, default=spec["n_random"]["default"],
                   metavar="N", help=f"{spec['n_random']['help']} Default {spec['n_random']['default']}.")
    TCAVOptions.add_arguments(p, skip=tuple(TCAV_FLAGS))
    p.add_argument("--seed", "--random-state", dest="random_state", type=int, default=0,
                   help="seed of every random draw (default 0)")
    p.add_argument("--relative-to", metavar="NAME", help="relative TCAV: the concept against this one, not random")
    p.add_argument("--library", metavar="PATH", help=LIBRARY_HELP)
    p.add_argument("--model", default="composer")
    p.add_argument("--json", action="store_true", help="print one record per (concept, target, layer) as JSON")
    p.set_defaults(run=tcav, show=show_tcav)


def _add_discover(sub) -> None:
    p = sub.add_parser("discover", help="discover concepts in a layer (NMF or NTD of its feature maps over the "
                       "shipped excerpts): importance per class, top excerpts, fidelity")
    p.add_argument("--layer", metavar="LAYER", help="a layer with a non-negative map (default: the model's default)")
    DiscoveryOptions.add_arguments(p, skip=("contrast",))
    p.add_argument("--class", dest="classes", action="append", metavar="CLASS",
                   help="factorise only this class's excerpts (repeat for several; default all)")
    p.add_argument("--pair", "--classes", dest="pair", nargs=2, metavar=("A", "B"),
                   help="the paper's pairwise mode: factorise only the excerpts of classes A and B, importance as the "
                   "effect on their two logits (A minus B), fidelity by which of the two the model prefers")
    p.add_argument("--seed", "--random-state", dest="random_state", type=int, default=0,
                   help="seed of the factorisation (default 0)")
    p.add_argument("--top", type=int, default=5, metavar="N", help="top excerpts listed per concept (default 5)")
    p.add_argument("--curve", action="store_true", help="also measure fidelity for other K (slower)")
    p.add_argument("--precompute", action="store_true",
                   help="compute the default configurations (block3 and block4, NMF and NTD, K=8, with fidelity "
                   "curves) into --out, the results that ship with the app; with --layer or --pair, only that one "
                   "configuration (with --method and --n-concepts)")
    p.add_argument("--ks", type=int, nargs="+", metavar="K",
                   help="with --precompute: the other K of the fidelity curve (default 1 2 4 6 8 12 16 24 32)")
    p.add_argument("--out", metavar="DIR", help="folder for --precompute (default: assets/discovery)")
    p.add_argument("--model", default="composer")
    p.add_argument("--json", action="store_true", help="print the concepts and the fidelity as JSON")
    p.set_defaults(run=discover, show=show_discover)


# --- helpers --------------------------------------------------------------------------------------------------


def _load_model(name: str):
    from models import registry  # loads torch: only when a command runs

    return registry.load(name)


def _check_choice(what: str, value: str, allowed, model_name: str) -> None:
    if value not in allowed:
        raise ParameterError(
            f"There is no {what} '{value}' in the model '{model_name}'; its {what}s are: {', '.join(allowed)}."
        )


def _options_from_args(cls, args, flags: dict[str, str]):
    """The declared options from parsed flags; a value out of bounds is named by its flag, as the user typed it."""
    for s in cls.spec():
        value, low, high = getattr(args, s["name"]), s.get("low"), s.get("high")
        if s["type"] in ("int", "float") and ((low is not None and value < low) or (high is not None and value > high)):
            flag = flags.get(s["name"], "--" + s["name"].replace("_", "-"))
            kind = "an int" if s["type"] == "int" else "a number"
            raise ParameterError(f"The '{flag}' option must be {kind} in [{low}, {high}], got {value}.")
    return cls.from_args(args)


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


# --- tcav -----------------------------------------------------------------------------------------------------


def tcav(args) -> list[dict]:
    """Run ``tcav``: one experiment per concept, each recorded in the library; one record per (target, layer)."""
    from xai.concepts import experiment  # loads torch: only when the command runs
    from xai.concepts import library as concepts

    options = _options_from_args(TCAVOptions, args, TCAV_FLAGS)
    model = _load_model(args.model)
    targets = list(dict.fromkeys(args.target))
    layers_ = list(dict.fromkeys(args.layer or [model.default_layer]))
    for t in targets:
        _check_choice("class", t, model.classes, model.name)
    for la in layers_:
        _check_choice("layer", la, model.layers, model.name)
    library = concepts.Library(args.library)
    try:
        builtins = concepts.builtin(model=model)
    except InputError:  # the shipped sets are missing: the library's concepts can still be tested
        builtins = {}
    found = {n: concepts.check_usable(_find_concept(n, library, builtins)) for n in dict.fromkeys(args.concept)}
    other = concepts.check_usable(_find_concept(args.relative_to, library, builtins)) if args.relative_to else None
    inputs = concepts.tcav_sets(model)
    records = []
    for concept in found.values():
        run = experiment.run(concept, model, relative_to=other, targets=targets, layers=layers_, options=options,
                             random_state=args.random_state, inputs=inputs)
        experiment.record(run, model, library=library, command="python -m xai tcav")
        records.extend(run.result.to_records())
    return records


def sanity(args) -> dict:
    """Run ``sanity``: the shipped sanity numbers of a model, or (``--recompute``) the suite run now."""
    from xai.concepts import sanity as suite  # loads torch: only when the command runs

    model = _load_model(args.model)
    if not args.recompute:
        shipped = suite.shipped(model.name)
        if shipped is None:
            raise InputError(f"No sanity numbers ship for the model '{model.name}'; run "
                             f"'python -m xai sanity --model {model.name} --recompute --write' to make them.")
        return shipped["full"] | {"source": str(suite.asset_path(model.name))}
    out = {}
    sub = suite.TEST_SUBSET
    if args.subset or args.write:
        rep = suite.run(model, targets=model.classes[: sub["targets"]], layers=[model.default_layer],
                        options=SanityOptions(**sub["options"]), random_state=sub["random_state"],
                        progress=_progress_printer())
        out["test_subset"] = rep.summary() | {"p_values": rep.p_values.tolist()}
    if not args.subset:
        for t in args.target or ():
            _check_choice("class", t, model.classes, model.name)
        for la in args.layer or ():
            _check_choice("layer", la, model.layers, model.name)
        rep = suite.run(model, targets=args.target, layers=args.layer, options=_options_from_args(SanityOptions, args, {}),
                        random_state=args.random_state, progress=_progress_printer())
        out["full"] = rep.summary()
    if args.write:
        import json

        suite.asset_path(model.name).write_text(json.dumps(out, indent=1), encoding="utf-8")
        suite.write_doc(out, Path(__file__).resolve().parents[2] / "docs" / "tcav_sanity.md")
    return out.get("full", out.get("test_subset"))


def show_sanity(s: dict) -> None:
    """Print the sanity numbers for a reader."""
    fp, raw = s["false_positives"], s["raw_p"]
    lo, hi = fp["rate_ci95"]
    print(f"{s['model']}: {s['options']['n_concepts']} random concepts x {len(s['targets'])} classes x "
          f"{len(s['layers'])} layers ({', '.join(s['layers'])}); {s['options']['n_random']} random sets, "
          f"{s['options']['n_runs']} runs each")
    print(f"false positives: {fp['significant']} of {fp['cells']} cells = {fp['rate']:.1%} "
          f"(95% CI {lo:.1%}-{hi:.1%}); worst cell {fp['per_cell_max']:.1%}; concepts with any: "
          f"{fp['concepts_with_any']}; layers passing the random-accuracy gate {fp['layers_passing_gate']:.1%}")
    print(f"raw p < 0.05: {raw['rate']:.1%}; uniformity (KS) p = {raw['ks_uniform_p']:.3f}; "
          f"deciles {raw['deciles']}")
    pl = s["planted"]
    print(f"planted ('{pl['target']}' excerpts, {pl['n_examples']} from {pl['n_pieces']} pieces): scores "
          f"{pl['tcav_mean']}, significant {pl['significant']}")
    for r in s["randomisation"]:
        print(f"  randomised {', '.join(r['randomised'])}: scores {r['tcav_mean']}, significant {r['significant']}")
    sd = s["seeds"]
    print(f"seeds: {sd['seeds']}, largest change of a mean score {sd['max_abs_difference']:.3f}, "
          f"significance calls agree: {sd['significance_agrees']}")


def show_tcav(records: list[dict]) -> None:
    """Print one line per (concept, target, layer)."""
    for r in records:
        what = r["concept"] + (f" (vs {r['relative_to']})" if r["relative_to"] else "")
        verdict = "significant" if r["significant"] else "not significant"
        print(f"{what} -> {r['target']} at {r['layer']}: TCAV {r['tcav_mean']:.2f} +- {r['tcav_std']:.2f} "
              f"(random {r['random_mean']:.2f}), p={r['p_corrected']:.3g} corrected, {verdict}; "
              f"CAV accuracy {r['cav_accuracy']:.2f}, {r['n_random']} runs")


# --- layers and concepts --------------------------------------------------------------------------------------


def layers(args) -> list[dict]:
    """Run ``layers``: the model's addressable layers, their shapes and whether they are non-negative."""
    from xai.concepts.layers import layer_info  # loads torch: only when the command runs
    from xai.symbolic import music

    model = _load_model(args.model)
    steps = int(round(model.window_quarters * music.STEPS_PER_QUARTER))
    return layer_info(model.net, model.layers, input_shape=(2, music.N_PITCHES, steps), default=model.default_layer)


def show_layers(info: list[dict]) -> None:
    """Print one line per layer."""
    for d in info:
        shape = " x ".join(map(str, d["shape"]))
        notes = ["non-negative" if d["nonnegative"] else "signed"] + (["default"] if d["default"] else [])
        print(f"{d['name']}: {shape} ({d['channels']} channels; {', '.join(notes)})")


def concepts_list(args) -> list[dict]:
    """Run ``concepts list``: the library's concepts, then the built-in ones."""
    from xai.concepts import library as concepts

    keys = ("name", "description", "origin", "n_examples", "author", "created")
    out = [{k: c.get(k) for k in keys} | {"source": "library"} for c in concepts.Library(args.library).list()]
    for which in concepts.BUILTIN_SETS:  # both shipped sets: the piano scores' and the style corpus's
        try:
            builtins = concepts.builtin_set(which)
        except InputError:  # a set not built on this installation
            continue
        out += [{"name": c.name, "description": c.description, "origin": c.origin, "n_examples": c.n_examples,
                 "author": c.author, "created": c.created, "source": "builtin", "set": which}
                for c in builtins.values()]
    return out


def show_concepts(items: list[dict]) -> None:
    """Print one line per concept."""
    if not items:
        print("No concepts yet.")
    for c in items:
        where = f"{c['source']}, {c['set']} set" if c.get('set') else c['source']
        print(f"{c['name']} ({where}, {c['n_examples']} examples): {c['description']}")


# --- discover -------------------------------------------------------------------------------------------------


def _progress_printer():
    """A progress callback that prints to stderr at each tenth of the work."""
    last = [-1]

    def progress(f: float, m: str) -> None:
        step = int(f * 10)
        if step != last[0]:
            last[0] = step
            print(f"{f:4.0%} {m}", file=sys.stderr)

    return progress


def _precompute(args, model, excerpts, discovery) -> list:
    """``--precompute``: the default configurations, or the one that ``--layer``/``--pair`` name."""
    out = Path(args.out) if args.out else discovery.ASSETS
    configs = discovery.DEFAULT_CONFIGS
    if args.layer or args.pair:
        args.contrast = bool(args.pair)
        opts = _options_from_args(DiscoveryOptions, args, {}).to_dict()
        configs = ((args.layer or model.default_layer, opts["method"], opts["n_concepts"],
                    tuple(args.pair) if args.pair else None),)
    return discovery.precompute(excerpts, model, configs=configs, out=out, random_state=args.random_state,
                                ks=args.ks, progress=lambda m: print(m, file=sys.stderr))


def discover(args) -> dict | list:
    """Run ``discover``: concepts of one layer (or, with ``--precompute``, the shipped default configurations)."""
    from xai.concepts import discovery  # loads torch: only when the command runs

    model = _load_model(args.model)
    excerpts = discovery.load_excerpts(model=model.name)
    if tuple(model.classes) != tuple(excerpts.classes):
        raise ParameterError(
            f"The shipped excerpts are labelled with the classes {', '.join(excerpts.classes)}, which the model "
            f"'{model.name}' does not have; its own excerpt set is missing."
        )
    if args.pair and args.classes:
        raise ParameterError("Give either '--pair A B' (pairwise mode) or '--class', not both.")
    for c in args.pair or ():
        _check_choice("class", c, model.classes, model.name)
    if args.precompute:
        return _precompute(args, model, excerpts, discovery)
    if args.top < 1:
        raise ParameterError(f"The '--top' option must be an int of at least 1, got {args.top}.")
    args.contrast = bool(args.pair)
    classes = args.pair or args.classes
    options = _options_from_args(DiscoveryOptions, args, {})
    layer = args.layer or model.default_layer
    for c in classes or ():
        _check_choice("class", c, model.classes, model.name)
    opts = options.to_dict()
    disc, status = discovery.cached(excerpts, model, layer=layer, method=opts.pop("method"),
                                    n_concepts=opts.pop("n_concepts"), random_state=args.random_state,
                                    classes=classes, curve=args.curve, progress=_progress_printer(), **opts)
    out = disc.summary(excerpts, top=args.top)
    out["source"] = status
    out["source_text"] = discovery.status_message(status)
    return out


def show_discover(result) -> None:
    """Print the discovered concepts (or the precomputed configurations) as text."""
    if isinstance(result, list):  # --precompute
        for r in result:
            f = r["fidelity"] or {}
            pair = f" {' vs '.join(r['pair'])}" if r.get("pair") else ""
            print(f"{r['layer']} {r['method']} K={r['n_concepts']}{pair}: explained variance {r['explained_variance']:.2f}, "
                  f"accuracy {f.get('accuracy', float('nan')):.3f} of {f.get('original_accuracy', float('nan')):.3f}; "
                  f"{r['bytes'] / 1024:.0f} KiB, {r['seconds']:.0f} s")
        return
    f = result["fidelity"]
    print(f"{result['method'].upper()} with {result['n_concepts']} concepts at {result['layer']} "
          f"({result['n_excerpts']} excerpts; {result['source_text']})")
    print(f"explained variance {result['explained_variance']:.2f}; accuracy with the concepts {f['accuracy']:.3f} "
          f"(original {f['original_accuracy']:.3f}), same answer for {f['agreement']:.1%}")
    h = result.get("heldout_fidelity")
    if h:
        print(f"held out ({h['n_excerpts']} excerpts of other pieces): accuracy with the concepts {h['accuracy']:.3f} "
              f"(original {h['original_accuracy']:.3f}; chance floor: one class {h['chance_accuracy']:.3f}, "
              f"{h['n_concepts']} random concepts {h['random_accuracy']:.3f}), same answer for {h['agreement']:.1%}")
    for p in f.get("curve", []):
        held = p.get("heldout")
        print(f"  K={p['n_concepts']:3d}: accuracy {p['accuracy']:.3f}, agreement {p['agreement']:.3f}, "
              f"explained variance {p['explained_variance']:.2f}"
              + (f"; held out {held['accuracy']:.3f} (random concepts {held['random_accuracy']:.3f})" if held else ""))
    for c in result["concepts"]:
        imp = sorted(c["importance"].items(), key=lambda kv: -kv[1])
        pair = (f"; {' − '.join(result['pair'])}: {c['pair_importance']:+.2f}"
                + (" (suggested)" if c["suggested"] else "")) if result.get("pair") else ""
        print(f"concept {c['id']}: most important for {imp[0][0]} ({imp[0][1]:+.2f}), least for {imp[-1][0]} "
              f"({imp[-1][1]:+.2f}){pair}" + "".join(f"; {n}" for n in c.get("flags", {}).get("notes", [])))
        for e in c["top_excerpts"]:
            print(f"    {e['piece']}, bars {e['start_bar']}-{e['end_bar']} (presence {e['score']:.2f})")

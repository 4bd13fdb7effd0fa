"""Benchmark: concept discovery on the shipped model: factorising, our NTD against tensorly's, browsing a concept.

    .venv/bin/python bench/discovery.py [--layers block3 block4] [--k 8] [--repeats 3] [--no-tensorly]

What is timed, over the shipped excerpts (assets/discovery/excerpts.npz, 900 windows of held-out pieces):

1. ``discover`` end to end for NMF and NTD at K (layer activations with every class logit's gradient, the
   factorisation, explained variance, importance), with the factorisation's own share;
2. our NTD (HALS factors + multiplicative core, xai.concepts.discovery._ntd_hals) against tensorly's
   ``non_negative_tucker_hals`` (init 'random', the same ranks), both run for the same number of iterations
   (the number ours needed to converge), comparing time and the relative reconstruction error reached;
3. browsing one precomputed concept, as the page does it: load the shipped result from disk (cold: a new
   Discovery.load), its top 6 and least 3 excerpts, each one's region, and every figure of the concept's view
   (overview, fidelity curve, importance, 9 piano rolls with the concept), serialised to JSON as Streamlit sends
   them. Goal: < 1 s. Synthesising the audio of one region is timed on its own (the page caches it).

Results and parameters are written to bench/results/discovery.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import registry  # noqa: E402
from xai import views
from xai.concepts import discovery  # noqa: E402
from xai.symbolic import music

RESULTS = ROOT / "bench" / "results"


def time_discover(model, excerpts, layers, k: int) -> list[dict]:
    X, y = excerpts.rolls(), excerpts.labels
    out = []
    for layer in layers:
        for method in discovery.METHODS:
            t0 = time.perf_counter()
            d = discovery.discover(X, model, y=y, layer=layer, n_concepts=k, method=method)
            total = time.perf_counter() - t0
            rec = {"layer": layer, "method": method, "n_concepts": k, "n_excerpts": len(X),
                   "layer_shape": d.params["layer_shape"], "seconds_total": round(total, 2),
                   "seconds_factorisation": d.params["seconds_factorisation"],
                   "iterations": d.params["factorisation"]["n_iter"],
                   "explained_variance": round(d.explained_variance_, 4)}
            print(f"{layer} {method.upper()} K={k}: discover {total:.1f} s (factorisation "
                  f"{rec['seconds_factorisation']:.1f} s, {rec['iterations']} iterations), explained variance "
                  f"{d.explained_variance_:.3f}")
            out.append(rec)
    return out


def ntd_vs_tensorly(model, excerpts, layer: str, k: int) -> dict:
    from tensorly.decomposition import non_negative_tucker_hals

    X = excerpts.rolls()
    shape = discovery._layer_shape(model.net, layer, X.shape[1:])
    acts, _ = discovery._layer_data(model.net, X, layer, shape, grads=False)
    ranks = (min(len(X), 4 * k), k, shape[1], shape[2])
    t0 = time.perf_counter()
    _, _, info = discovery._ntd_hals(acts, ranks, max_iter=400, tol=1e-4, random_state=0)
    ours = time.perf_counter() - t0
    n_iter = info["n_iter"]
    t0 = time.perf_counter()
    (core, factors), errors = non_negative_tucker_hals(acts, rank=list(ranks), n_iter_max=n_iter, init="random",
                                                       tol=0.0, random_state=0, return_errors=True)
    theirs = time.perf_counter() - t0
    rec = {"layer": layer, "ranks": list(ranks), "iterations": n_iter, "ours_s": round(ours, 2),
           "tensorly_s": round(theirs, 2), "speedup": round(theirs / ours, 2),
           "ours_relative_error": round(info["relative_error"], 5), "tensorly_relative_error": round(float(errors[-1]), 5)}
    print(f"NTD {layer} ranks {ranks}, {n_iter} iterations: ours {ours:.1f} s (error {rec['ours_relative_error']}), "
          f"tensorly {theirs:.1f} s (error {rec['tensorly_relative_error']}): {rec['speedup']:.1f}x")
    return rec


def browse_once(model, excerpts, layer: str, method: str, k: int, concept: int) -> dict:
    """Everything the page computes to show one precomputed concept, timed in parts."""
    stem = discovery._stem(model.name, layer, method, k, 0, None, excerpts.sha256)
    t = {}
    t0 = time.perf_counter()
    d = discovery.Discovery.load(discovery.ASSETS, stem)
    if d is None or d.weights_sha256 != model.weights_sha256:
        raise SystemExit(f"No usable shipped result {stem}; run `python -m xai discover --precompute` first.")
    t["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    top = discovery.top_excerpts(d, concept, n=6, excerpts=excerpts)
    least = discovery.top_excerpts(d, concept, n=3, least=True, excerpts=excerpts)
    t["rank"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    figs = [views.concept_overview(d, selected=concept), views.concept_importance(d, concept)]
    if len(d.curve()) > 1:
        figs.append(views.fidelity_plot(d.curve(), chosen=k))
    peak = float(d.presence_[:, concept].max())
    for r in top + least:
        reg = discovery.concept_region(d, r["row"], concept, excerpts=excerpts)
        figs.append(views.discovery_roll(excerpts.piece(r["excerpt"]), d.presence_[r["row"], concept],
                                         region=(reg["start_beat"], reg["end_beat"]), peak=peak))
    t["figures"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    size = sum(len(f.to_json()) for f in figs)
    t["serialise"] = time.perf_counter() - t0
    t["total"] = sum(t.values())
    return {k_: round(v, 4) for k_, v in t.items()} | {"n_figures": len(figs), "json_bytes": size}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", nargs="+", default=["block3", "block4"])
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the browsing timing")
    ap.add_argument("--no-tensorly", action="store_true", help="skip the comparison with tensorly's NTD (slow)")
    args = ap.parse_args(argv)
    model = registry.load("composer")
    t0 = time.perf_counter()
    excerpts = discovery.load_excerpts()
    excerpts_s = time.perf_counter() - t0
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
           "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
           "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
           "params": vars(args), "n_excerpts": len(excerpts), "model_weights_sha256": model.weights_sha256,
           "load_excerpts_s": round(excerpts_s, 3)}

    browse = [browse_once(model, excerpts, "block3", "nmf", args.k, c % args.k) for c in range(args.repeats)]
    med = {key: statistics.median(b[key] for b in browse) for key in ("load", "rank", "figures", "serialise", "total")}
    out["browse_concept_s"] = {"median": med, "runs": browse, "goal_s": 1.0, "meets_goal": med["total"] < 1.0}
    print(f"browse one precomputed concept (load + 9 excerpts + 12 figures): median {med['total']:.3f} s "
          f"(load {med['load']:.3f}, figures {med['figures']:.3f}, serialise {med['serialise']:.3f}); goal < 1 s")
    d = discovery.Discovery.load(discovery.ASSETS, discovery._stem(model.name, "block3", "nmf", args.k, 0, None,
                                                                   excerpts.sha256))
    rows = discovery.top_excerpts(d, 0, n=6, excerpts=excerpts) + discovery.top_excerpts(d, 0, n=3, least=True,
                                                                                         excerpts=excerpts)
    times = []
    for r in rows:  # the first call also imports and warms the synthesiser and the resampler
        reg = discovery.concept_region(d, r["row"], 0, excerpts=excerpts)
        t0 = time.perf_counter()
        views.listening_wav(music.render_audio(excerpts.piece(r["excerpt"]), reg["start_beat"], reg["end_beat"]))
        times.append(time.perf_counter() - t0)
    out["region_audio_s"] = {"first_call": round(times[0], 3), "warm_median": round(statistics.median(times[1:]), 3),
                             "nine_excerpts_warm": round(9 * statistics.median(times[1:]), 3)}
    print(f"synthesise one region's audio: first call {times[0]:.3f} s, then {statistics.median(times[1:]):.3f} s "
          f"each (the page caches them)")
    first_view = med["total"] + 9 * statistics.median(times[1:])
    out["first_view_of_a_concept_s"] = round(first_view, 3)
    print(f"first view of a concept, figures and the sound of its 9 excerpts (server warm): {first_view:.3f} s")

    out["discover"] = time_discover(model, excerpts, args.layers, args.k)
    if not args.no_tensorly:
        out["ntd_vs_tensorly"] = [ntd_vs_tensorly(model, excerpts, layer, args.k) for layer in args.layers]
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "discovery.json").write_text(json.dumps(out, indent=1))
    print(f"written to {RESULTS / 'discovery.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

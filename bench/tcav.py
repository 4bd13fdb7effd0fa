"""Benchmark: our TCAV (xai.concepts.tcav) against captum.concept.TCAV on the shipped style classifier.

    .venv/bin/python bench/tcav.py [--runs 20] [--layers block2 block3 block4] [--target bach] [--n-class 200]
                                   [--repeats 1] [--no-captum]

Both sides get the same inputs: one concept (the first built-in concept of xai.concepts.library, its example windows;
if the shipped concept sets are missing, random-pool excerpts with a planted low pedal note, and the rest of
the pool as random excerpts), the same 20 random sets and 20 null sets (the sets our run drew, read from
``result.sets_``), the same 200 class excerpts of one target class and the same three layers. captum gets the
experimental sets [concept, random_i] and [null_i, random_i] (i = 1..20), i.e. the concept runs and the
random-vs-random runs that make up one full TCAV test, through DataLoaders over the same tensors, with a
fresh temporary save_path (captum caches CAVs and activations on disk by concept id).

What is compared: wall time of the whole test (activations, CAV fits, scores; ours also does the t-tests),
the per-run sign-count TCAV scores (mean absolute difference, means +- std side by side) and the p-values of
the same Welch t-test computed from each side's scores. The linear models differ (ours: L2 logistic
regression, or SGD with hinge loss when asked; captum: SGD with hinge loss on raw activations, its own random
train/test split), so per-run CAVs and scores agree only up to that noise. captum's reported CAV accuracies are
not comparable (see CAPTUM_ACCURACY_NOTE).

Goal (2 CPU cores): ours >= 5x faster than captum at the same scores. Results and parameters are written to
bench/results/tcav.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import registry  # noqa: E402
from xai.concepts import library as concepts  # noqa: E402
from xai.concepts import tcav
from xai.symbolic import music

RESULTS = ROOT / "bench" / "results"
CAPTUM_ACCURACY_NOTE = (
    "captum 0.9.0's DefaultClassifier reports chance-level CAV accuracy for two-concept sets: its binary linear "
    "model has one output column and it takes the argmax over that column, so it always predicts the first "
    "class (checked: 0.45 'accuracy' on perfectly separable data). So captum's significance here is judged by "
    "the p-value alone."
)


def load_inputs(target: str, n_class: int) -> dict:
    """Concept, random pool and class excerpts: the shipped concept sets, else a documented synthetic stand-in."""
    try:
        pool = concepts.random_pool()
        sources = concepts.random_pool_sources()
        concept = next(iter(concepts.builtin().values()))
        concept = concepts.check_usable(concept)
        X = concepts.example_rolls(concept)
        # No random set may share a piece with the concept (xai.concepts.library.random_pool_sources says why).
        taken = {e.source_name for e in concept.examples}
        pool = pool[[s not in taken for s in sources]]
        class_X = concepts.class_examples()[target][:n_class]
        return {"concept": concept.name, "concept_X": X, "pool": pool, "class_X": class_X,
                "source": "shipped concept sets (assets/concepts)"}
    except Exception as e:  # noqa: BLE001 - any missing asset means: fall back to the synthetic set
        rng = np.random.default_rng(0)
        pool = concepts.random_pool() if (concepts.ASSETS / "pool.npz").exists() else _noise_rolls(rng, 600)
        idx = rng.permutation(len(pool))
        X = pool[idx[:40]].copy()
        X[:, :, 36 - music.PITCH_LOW, :] = 1.0  # planted: a held low C (C2) through the whole window, a pedal
        X[:, 0, 36 - music.PITCH_LOW, 1:] = 0.0
        return {"concept": "planted pedal C2", "concept_X": X, "pool": pool[idx[40:]], "class_X": pool[idx[:n_class]],
                "source": f"synthetic, because the concept sets could not be read ({e})"}


def _noise_rolls(rng, n):
    X = np.zeros((n, 2, music.N_PITCHES, 64), np.float32)
    for i in range(n):
        for t in range(0, 64, 4):
            r = rng.integers(30, 70)
            X[i, 0, r, t] = 1
            X[i, 1, r, t : t + 4] = 1
    return X


class Clock:
    """Wall and CPU (this process, all threads) seconds of a block: CPU time is less disturbed by other jobs."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def run_ours(net, classes, inp, layers, target, runs, classifier, seed) -> tuple[Clock, tcav.TCAVResult]:
    with Clock() as clock:
            res = tcav.score(inp["concept_X"], net, class_X={target: inp["class_X"]}, random_X=inp["pool"],
                         layers=layers, targets=[target], classes=classes, name=inp["concept"],
                         options=tcav.TCAVOptions(n_random=runs, classifier=classifier), random_state=seed)
    return clock, res


class _Rolls(torch.utils.data.Dataset):
    def __init__(self, X):
        self.X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i]


def run_captum(net, classes, inp, layers, target, res: tcav.TCAVResult, seed) -> tuple[Clock, dict]:
    """captum's TCAV on the sets our run drew; returns its time and per-run scores / accuracies per layer."""
    from captum.concept import TCAV, Concept
    from captum.concept._utils.common import concepts_to_str

    def concept(cid, name, X):
        return Concept(cid, name, torch.utils.data.DataLoader(_Rolls(X), batch_size=64))

    sets = res.sets_
    R = res.n_random
    pos_rows = sets["positive"]
    same_concept = bool((pos_rows == pos_rows[0]).all())
    concept_objs = ([concept(0, inp["concept"], inp["concept_X"][pos_rows[0]])] * R if same_concept else
                    [concept(3 * R + i, f"{inp['concept']}_{i}", inp["concept_X"][pos_rows[i]]) for i in range(R)])
    rand = [concept(1 + i, f"random_{i}", inp["pool"][sets["negative"][i]]) for i in range(R)]
    null = [concept(1 + R + i, f"null_{i}", inp["pool"][sets["null_positive"][i]]) for i in range(R)]
    exp_sets = [[concept_objs[i], rand[i]] for i in range(R)] + [[null[i], rand[i]] for i in range(R)]
    x = torch.from_numpy(np.ascontiguousarray(inp["class_X"][sets[f"class_{target}"]], dtype=np.float32))
    save = tempfile.mkdtemp(prefix="captum_tcav_")
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Clock() as clock:
                tc = TCAV(net, layers=list(layers), model_id="bench", save_path=save)
                scores = tc.interpret(x, experimental_sets=exp_sets, target=classes.index(target))
    finally:
        shutil.rmtree(save, ignore_errors=True)
    out = {}
    for layer in layers:
        def col(sets_, key="sign_count", layer=layer):
            return np.array([float(scores[concepts_to_str(s)][layer][key][0]) for s in sets_])

        out[layer] = {
            "scores": col(exp_sets[:R]),
            "random_scores": col(exp_sets[R:]),
            "cav_accuracy": np.array([float(tc.cavs[concepts_to_str(s)][layer].stats["accs"]) for s in exp_sets[:R]]),
        }
    return clock, out


def compare(res: tcav.TCAVResult, cap: dict, layers) -> dict:
    """Side-by-side scores and the same t-test on each side's scores, per layer."""
    pv = np.array([tcav._welch_p(cap[la]["scores"], cap[la]["random_scores"]) for la in layers])
    pc = tcav.corrections(pv, res.options.correction)
    out = {}
    for j, la in enumerate(layers):
        ours, theirs = res.scores[0, j], cap[la]["scores"]
        out[la] = {
            "ours_mean_std": [round(float(ours.mean()), 4), round(float(ours.std(ddof=1)), 4)],
            "captum_mean_std": [round(float(theirs.mean()), 4), round(float(theirs.std(ddof=1)), 4)],
            "mean_abs_diff_per_run": round(float(np.abs(ours - theirs).mean()), 4),
            "ours_null_mean_std": [round(float(res.random_scores[0, j].mean()), 4),
                                   round(float(res.random_scores[0, j].std(ddof=1)), 4)],
            "captum_null_mean_std": [round(float(cap[la]["random_scores"].mean()), 4),
                                     round(float(cap[la]["random_scores"].std(ddof=1)), 4)],
            "null_mean_abs_diff_per_run": round(
                float(np.abs(res.random_scores[0, j] - cap[la]["random_scores"]).mean()), 4),
            "ours_cav_accuracy": round(float(res.cav_accuracies[j].mean()), 4),
            "captum_cav_accuracy": round(float(cap[la]["cav_accuracy"].mean()), 4),
            "ours_p_corrected": float(res.p_corrected[0, j]),
            "captum_p_corrected": float(pc[j]),
            "ours_significant": bool(res.significant[0, j]),
            # By the p-value alone: captum's reported CAV accuracy is not usable (see CAPTUM_ACCURACY_NOTE).
            "captum_significant_by_p": bool(pc[j] < res.options.alpha_significance),
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--layers", nargs="+", default=["block2", "block3", "block4"])
    ap.add_argument("--target", default="bach")
    ap.add_argument("--n-class", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=1, help="time each side this many times, report the best")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-captum", action="store_true")
    args = ap.parse_args()

    model = registry.load("composer")
    net, classes = model.net, model.classes
    inp = load_inputs(args.target, args.n_class)
    print(f"concept '{inp['concept']}' ({len(inp['concept_X'])} windows, {inp['source']}); random pool "
          f"{len(inp['pool'])}; {len(inp['class_X'])} '{args.target}' excerpts; layers {', '.join(args.layers)}; "
          f"{args.runs} runs; weights {model.weights_sha256[:12]} ({model.title})")
    tcav.score(inp["concept_X"][:8], net, class_X={args.target: inp["class_X"][:8]}, random_X=inp["pool"][:16],
               layers=args.layers, targets=[args.target], classes=classes,
               options=tcav.TCAVOptions(n_random=2))  # warm imports and torch's kernels, as in the app

    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
           "torch": torch.__version__, "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
           "params": vars(args), "concept": inp["concept"], "concept_source": inp["source"],
           "n_concept_windows": int(len(inp["concept_X"])), "n_pool": int(len(inp["pool"])),
           "model_weights_sha256": model.weights_sha256, "model_title": model.title}
    # Repeats alternate between the two sides, so a burst of load from other jobs hits both alike.
    ours, ours_sgd, theirs, res, res_sgd, cap = [], [], [], None, None, None
    for _ in range(args.repeats):
        clock, res = run_ours(net, classes, inp, args.layers, args.target, args.runs, "logistic", args.seed)
        ours.append(clock)
        clock, res_sgd = run_ours(net, classes, inp, args.layers, args.target, args.runs, "sgd", args.seed)
        ours_sgd.append(clock)
        if not args.no_captum:
            clock, cap = run_captum(net, classes, inp, args.layers, args.target, res, args.seed)
            theirs.append(clock)

    def best(clocks, key):
        return round(min(getattr(c, key) for c in clocks), 3)

    out["ours_s"], out["ours_cpu_s"] = best(ours, "wall"), best(ours, "cpu")
    out["ours_sgd_s"], out["ours_sgd_cpu_s"] = best(ours_sgd, "wall"), best(ours_sgd, "cpu")
    out["ours_records"] = res.to_records()
    print(f"ours (logistic): {out['ours_s']:.2f} s wall, {out['ours_cpu_s']:.2f} s CPU; "
          f"ours (sgd): {out['ours_sgd_s']:.2f} s wall, {out['ours_sgd_cpu_s']:.2f} s CPU")
    if not args.no_captum:
        out["captum_s"], out["captum_cpu_s"] = best(theirs, "wall"), best(theirs, "cpu")
        out["speedup"] = round(out["captum_s"] / out["ours_s"], 2)
        out["speedup_cpu"] = round(out["captum_cpu_s"] / out["ours_cpu_s"], 2)
        out["speedup_sgd"] = round(out["captum_s"] / out["ours_sgd_s"], 2)
        out["agreement_logistic"] = compare(res, cap, args.layers)
        out["agreement_sgd"] = compare(res_sgd, cap, args.layers)
        print(f"captum: {out['captum_s']:.2f} s wall, {out['captum_cpu_s']:.2f} s CPU -> ours is "
              f"{out['speedup']:.1f}x faster by wall time, {out['speedup_cpu']:.1f}x by CPU time "
              f"({out['speedup_sgd']:.1f}x wall with sgd); goal >= 5x")
        for name, agree in (("logistic", out["agreement_logistic"]), ("sgd", out["agreement_sgd"])):
            for la, a in agree.items():
                print(f"  [{name}] {la}: TCAV ours {a['ours_mean_std'][0]:.3f}+-{a['ours_mean_std'][1]:.3f} vs captum "
                      f"{a['captum_mean_std'][0]:.3f}+-{a['captum_mean_std'][1]:.3f} (|diff| per run "
                      f"{a['mean_abs_diff_per_run']:.3f}); null {a['ours_null_mean_std'][0]:.3f} vs "
                      f"{a['captum_null_mean_std'][0]:.3f}; CAV acc {a['ours_cav_accuracy']:.2f} vs "
                      f"{a['captum_cav_accuracy']:.2f}; p_corr {a['ours_p_corrected']:.3g} vs "
                      f"{a['captum_p_corrected']:.3g}; significant {a['ours_significant']} vs "
                      f"{a['captum_significant_by_p']} (captum: by p alone)")
        print(f"  note: {CAPTUM_ACCURACY_NOTE}")
        out["captum_accuracy_note"] = CAPTUM_ACCURACY_NOTE
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tcav.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

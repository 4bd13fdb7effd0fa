"""Benchmark: our TCAV (xai.concepts.tcav) against captum.concept.TCAV on the shipped style classifier, fairly.

    .venv/bin/python bench/tcav.py [--random 10] [--runs 10] [--layers block2 block3 block4]
                                   [--targets bach palestrina] [--n-class 200] [--seed 0]

What each side gets. One concept (the first built-in concept of xai.concepts.library, 'homophonic', its example
windows; if the shipped concept sets are missing, random-pool excerpts with a planted low pedal note), the random
pool without the concept's pieces, up to 200 class excerpts per target and three layers. Our test draws its
sets (``--runs`` resamples of the concept, ``--random`` random concepts of ``--runs`` resamples each, one set of
counter-examples per run); captum gets **exactly those sets** (re-drawn here from the same seed with the same
private planner, and checked equal to the rows our result reports): the experimental sets [concept_r, random_r]
and [null_k_r, random_r], through DataLoaders over the same tensors.

Same classifier. captum accepts a custom ``Classifier``; ``OurClassifier`` below fits exactly our CAV
(xai.concepts._kernel.fit: L2 logistic regression by Newton on centred, globally scaled activations, same
alpha) on the rows it is given, which are our training rows of that run. So the CAVs are the same direction
and the per-run sign-count scores must agree up to float noise; the scores differ where the two compute the
directional derivative differently. captum trains on everything it is given (it has no held-out rows), so CAV
accuracies are not compared; significance is compared by the same null p-value on each side's scores.

What is timed. **Cold**: nothing cached on either side (our gradient and activation caches cleared; captum in a
fresh save_path, a fresh TCAV object). **Warm**: the same call again right after (ours with its caches full,
captum with its activations and CAVs on disk and in memory; captum has no gradient cache). Both sides run one
after the other under the same load, alternating, ``--repeats`` times; the best of each is reported. The work
is a full test: every concept and random-set CAV at every layer for every target (captum: one ``interpret`` per
target, as its API takes one target at a time). Our limit is one forward + backward per class excerpt (all
layers in one pass) and one forward per concept / pool excerpt.

Goal (2 CPU cores): ours >= 5x faster than captum at the same scores. Results and parameters are written to
bench/results/tcav.json, with the load average beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
from xai.concepts import _kernel, tcav  # noqa: E402
from xai.concepts import library as concepts  # noqa: E402
from xai.symbolic import music  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def load_inputs(targets: list[str], n_class: int) -> dict:
    """Concept, random pool and class excerpts: the shipped concept sets, else a documented synthetic stand-in."""
    try:
        pool = concepts.random_pool()
        sources = concepts.random_pool_sources()
        concept = concepts.check_usable(next(iter(concepts.builtin().values())))
        X = concepts.example_rolls(concept)
        # No random set may share a piece with the concept (xai.concepts.library.random_pool_sources says why).
        taken = {e.source_name for e in concept.examples}
        pool = pool[[s not in taken for s in sources]]
        class_X = {t: concepts.class_examples()[t][:n_class] for t in targets}
        return {"concept": concept.name, "concept_X": X, "pool": pool, "class_X": class_X,
                "source": "shipped concept sets (assets/concepts)"}
    except Exception as e:  # noqa: BLE001 - any missing asset means: fall back to the synthetic set
        rng = np.random.default_rng(0)
        pool = concepts.random_pool() if (concepts.ASSETS / "pool.npz").exists() else _noise_rolls(rng, 600)
        idx = rng.permutation(len(pool))
        X = pool[idx[:40]].copy()
        X[:, :, 36 - music.PITCH_LOW, :] = 1.0  # planted: a held low C (C2) through the whole window, a pedal
        X[:, 0, 36 - music.PITCH_LOW, 1:] = 0.0
        return {"concept": "planted pedal C2", "concept_X": X, "pool": pool[idx[40:]],
                "class_X": {t: pool[idx[:n_class]] for t in targets},
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


def options(args) -> tcav.TCAVOptions:
    return tcav.TCAVOptions(n_random=args.random, n_runs=args.runs, classifier="logistic")


def run_ours(net, classes, inp, args, *, cold: bool) -> tuple[Clock, tcav.TCAVResult]:
    if cold:
        tcav._GRADIENTS.clear()
        tcav._ACTIVATIONS.clear()
    with Clock() as clock:
        res = tcav.score(inp["concept_X"], net, class_X=inp["class_X"], random_X=inp["pool"], layers=args.layers,
                         targets=args.targets, classes=classes, name=inp["concept"], options=options(args),
                         random_state=args.seed)
    return clock, res


def draws(inp, args) -> dict:
    """The rows of every set our test uses, re-drawn by its own planner from the same seed (no groups: each
    excerpt its own piece, as in the run above): concept and counter-example rows per run, null rows per set."""
    n_c, n_p = len(inp["concept_X"]), len(inp["pool"])
    plan = tcav._plan(np.random.default_rng(args.seed), pos_codes=_kernel.group_codes(None, n_c), neg_codes=None,
                      pool_codes=_kernel.group_codes(None, n_p), offsets={"pos": 0, "neg": n_c, "pool": n_c},
                      class_sizes={t: len(inp["class_X"][t]) for t in args.targets}, options=options(args))
    return {"positive": np.stack([f.train_pos for f in plan.concept]),
            "negative": np.stack([f.train_neg for f in plan.concept]) - n_c,
            "null": np.stack([np.stack([f.train_pos for f in fits]) for fits in plan.null]) - n_c,
            "class": plan.class_idx}


def our_classifier():
    """captum ``Classifier`` that fits our CAV (xai.concepts._kernel.fit) on all the rows it is given."""
    from captum.concept._utils.classifier import Classifier

    class OurClassifier(Classifier):
        def __init__(self, alpha: float = tcav.TCAVOptions().alpha) -> None:
            self.alpha, self._w, self._classes = alpha, None, None

        def train_and_eval(self, dataloader, **kwargs):
            xs, ys = zip(*[(x.reshape(len(x), -1).double(), y) for x, y in dataloader])
            X, y = torch.cat(xs).numpy(), torch.cat(ys).numpy()
            self._classes = sorted({int(v) for v in y})
            pos = np.flatnonzero(y == self._classes[0])
            neg = np.flatnonzero(y != self._classes[0])
            Kg = X @ X.T
            f = _kernel.Fit(pos, neg, pos[:0], neg[:0], 0)
            tr, a, _, _ = _kernel.fit(Kg, [], f, dim=X.shape[1], classifier="logistic", alpha=self.alpha)
            w = (X[tr] - X[tr].mean(axis=0)).T @ a  # towards classes[0], the side labelled 1 in the fit
            self._w = torch.from_numpy(np.stack([w, -w])).float()
            return {"accs": torch.tensor(float("nan"))}

        def weights(self):
            return self._w

        def classes(self):
            return self._classes

    return OurClassifier()


class _Rolls(torch.utils.data.Dataset):
    def __init__(self, X):
        self.X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i]


def captum_sets(inp, d: dict) -> tuple[list, int, int]:
    """captum Concepts and experimental sets over exactly our draws: [concept_r, random_r], [null_k_r, random_r]."""
    from captum.concept import Concept

    def concept(cid, name, X):
        return Concept(cid, name, torch.utils.data.DataLoader(_Rolls(X), batch_size=64))

    R, K = d["positive"].shape[0], d["null"].shape[0]
    pos = [concept(r, f"{inp['concept']}_{r}", inp["concept_X"][d["positive"][r]]) for r in range(R)]
    rand = [concept(R + r, f"random_{r}", inp["pool"][d["negative"][r]]) for r in range(R)]
    null = [[concept(2 * R + k * R + r, f"null_{k}_{r}", inp["pool"][d["null"][k, r]]) for r in range(R)]
            for k in range(K)]
    sets = [[pos[r], rand[r]] for r in range(R)] + [[null[k][r], rand[r]] for k in range(K) for r in range(R)]
    return sets, R, K


def run_captum(net, classes, inp, args, d: dict, built: tuple, tc=None, save=None) -> tuple[Clock, dict, object, str]:
    """captum's TCAV on our sets (``built`` by :func:`captum_sets`; captum wants the same Concept objects each
    time), one ``interpret`` per target; a given ``tc`` (warm) reuses what it holds."""
    from captum.concept import TCAV
    from captum.concept._utils.common import concepts_to_str

    sets, R, K = built
    xs = {t: torch.from_numpy(np.ascontiguousarray(inp["class_X"][t][d["class"][t]], dtype=np.float32))
          for t in args.targets}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Clock() as clock:
            if tc is None:
                save = tempfile.mkdtemp(prefix="captum_tcav_")
                tc = TCAV(net, layers=list(args.layers), model_id="bench", classifier=our_classifier(),
                          save_path=save)
            scores = {t: tc.interpret(xs[t], experimental_sets=sets, target=classes.index(t)) for t in args.targets}
    out = {}
    for t in args.targets:
        for la in args.layers:
            col = np.array([float(scores[t][concepts_to_str(s)][la]["sign_count"][0]) for s in sets])
            out[(t, la)] = {"scores": col[:R], "random_scores": col[R:].reshape(K, R).mean(axis=1)}
    return clock, out, tc, save


def compare(res: tcav.TCAVResult, cap: dict, args) -> dict:
    """Per (target, layer) cell: each side's mean score, the per-run differences, each side's null p-value."""
    cells = {}
    for t_i, t in enumerate(args.targets):
        for j, la in enumerate(args.layers):
            ours, theirs = res.scores[t_i, j], cap[(t, la)]["scores"]
            on, tn = res.random_scores[t_i, j], cap[(t, la)]["random_scores"]
            cells[f"{args.concept_name} -> {t} @ {la}"] = {
                "ours_mean": round(float(ours.mean()), 4), "captum_mean": round(float(theirs.mean()), 4),
                "mean_diff": round(float(theirs.mean() - ours.mean()), 4),
                "max_abs_diff_per_run": round(float(np.abs(ours - theirs).max()), 4),
                "null_max_abs_diff": round(float(np.abs(on - tn).max()), 4),
                "ours_p": round(float(res.p_values[t_i, j]), 4),
                "captum_p": round(float(tcav.null_p_value(float(theirs.mean()), tn)), 4),
                "saturated": bool(ours.mean() in (0.0, 1.0)),
            }
    return cells


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--random", type=int, default=10, help="random concepts (the null)")
    ap.add_argument("--runs", type=int, default=10, help="runs per concept and per random concept")
    ap.add_argument("--layers", nargs="+", default=["block2", "block3", "block4"])
    ap.add_argument("--targets", nargs="+", default=["bach", "palestrina"])
    ap.add_argument("--n-class", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=1, help="time each side this many times, report the best")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (both sides)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = registry.load("composer")
    net, classes = model.net, model.classes
    inp = load_inputs(args.targets, args.n_class)
    args.concept_name = inp["concept"]
    print(f"concept '{inp['concept']}' ({len(inp['concept_X'])} windows, {inp['source']}); random pool "
          f"{len(inp['pool'])}; targets {', '.join(args.targets)}; layers {', '.join(args.layers)}; "
          f"{args.random} random concepts x {args.runs} runs; weights {model.weights_sha256[:12]}")
    tcav.score(inp["concept_X"][:8], net, class_X={t: inp["class_X"][t][:8] for t in args.targets},
               random_X=inp["pool"][:16], layers=args.layers, targets=args.targets, classes=classes,
               options=tcav.TCAVOptions(n_random=2, n_runs=2))  # warm imports and torch's kernels on both sides
    d = draws(inp, args)
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
           "torch": torch.__version__, "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
           "params": {k: v for k, v in vars(args).items()}, "concept": inp["concept"],
           "concept_source": inp["source"], "n_concept_windows": int(len(inp["concept_X"])),
           "n_pool": int(len(inp["pool"])), "model_weights_sha256": model.weights_sha256,
           "classifier": "both: xai.concepts._kernel.fit (L2 logistic, Newton), captum through a custom Classifier"}
    times = {k: [] for k in ("ours_cold", "captum_cold", "ours_warm", "captum_warm")}
    res = cap = None
    for _ in range(args.repeats):
        c, res = run_ours(net, classes, inp, args, cold=True)
        times["ours_cold"].append(c)
        c, _ = run_ours(net, classes, inp, args, cold=False)
        times["ours_warm"].append(c)
        built = captum_sets(inp, d)
        c, cap, tc, save = run_captum(net, classes, inp, args, d, built)
        times["captum_cold"].append(c)
        try:
            c, _, _, _ = run_captum(net, classes, inp, args, d, built, tc=tc, save=save)
            times["captum_warm"].append(c)
        finally:
            shutil.rmtree(save, ignore_errors=True)
    assert np.array_equal(d["positive"], res.sets_["positive"]) and np.array_equal(d["negative"],
                                                                                   res.sets_["negative"])
    for k, clocks in times.items():
        out[f"{k}_s"] = round(min(c.wall for c in clocks), 3)
        out[f"{k}_cpu_s"] = round(min(c.cpu for c in clocks), 3)
    for kind in ("cold", "warm"):
        out[f"ratio_{kind}"] = round(out[f"captum_{kind}_s"] / out[f"ours_{kind}_s"], 2)
        out[f"ratio_{kind}_cpu"] = round(out[f"captum_{kind}_cpu_s"] / out[f"ours_{kind}_cpu_s"], 2)
    out["cells"] = compare(res, cap, args)
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"cold: ours {out['ours_cold_s']:.2f} s, captum {out['captum_cold_s']:.2f} s -> {out['ratio_cold']:.1f}x "
          f"(CPU {out['ratio_cold_cpu']:.1f}x); warm: ours {out['ours_warm_s']:.2f} s, captum "
          f"{out['captum_warm_s']:.2f} s -> {out['ratio_warm']:.1f}x (CPU {out['ratio_warm_cpu']:.1f}x); goal >= 5x")
    for cell, c in out["cells"].items():
        print(f"  {cell}: TCAV ours {c['ours_mean']:.3f} vs captum {c['captum_mean']:.3f} (max |diff| per run "
              f"{c['max_abs_diff_per_run']:.3f}, null {c['null_max_abs_diff']:.3f}); p {c['ours_p']:.3g} vs "
              f"{c['captum_p']:.3g}")
    print(f"load average: start {out['load_average_at_start']}, end {out['load_average_at_end']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tcav.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

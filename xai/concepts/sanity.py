"""How far to trust a TCAV result: the sanity suite, run on a shipped model with its shipped excerpts.

Four checks, each answering a reviewer's question with a number:

1. **False positives.** Random concepts -- sets of random excerpts made of whole training pieces, like a
   musician's concept -- are tested exactly as a concept is (:func:`xai.concepts.tcav.score`). None should be
   reported significant: the share of (concept, class, layer) cells that are, after the random-accuracy gate and
   Holm's correction, is the false-positive rate (with a Wilson interval), and the raw p-values should be
   uniform (their deciles and a Kolmogorov-Smirnov test are reported).
2. **A planted concept is found.** Half the pieces of one class's held-out excerpts, as a concept, must be
   significant for that class (scored on the other half's excerpts).
3. **Cascading randomisation** (Adebayo et al. 2018). The same planted test on copies of the model whose layers
   are re-initialised from the output backwards must lose significance: an explanation that survives random
   weights explains nothing about the trained model.
4. **Seed stability.** The planted test with other seeds: how far the mean scores move, and whether the
   significance calls agree.

References
----------
Kim, B. et al. (2018). Interpretability Beyond Feature Attribution: Quantitative Testing with Concept Activation
Vectors (TCAV). ICML. Adebayo, J. et al. (2018). Sanity Checks for Saliency Maps. NeurIPS.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from xai.concepts import library as concepts
from xai.concepts import overlap, tcav
from xai.concepts.options import SanityOptions, TCAVOptions
from xai.contract import Progress, Result
from xai.stats import wilson

__all__ = ["SanityReport", "run", "shipped", "asset_path", "write_doc", "TEST_SUBSET"]

# The subset the test suite recomputes on the shipped model (about a minute on 2 cores), and ships beside the full
# numbers so the test can compare: 20 random concepts x 3 classes x 1 layer = 60 cells, enough to see a
# false-positive rate above 5 % (3 or more cells) though not to pin it down (the Wilson interval says how much).
TEST_SUBSET = {"options": {"n_concepts": 20, "n_random": 20, "n_runs": 10, "max_class": 100, "n_seeds": 2},
               "targets": 3, "layers": 1, "random_state": 0}


@dataclass(frozen=True, eq=False)
class SanityReport(Result):
    """The sanity suite's numbers for one model (see the module docstring); ``summary()`` is the CLI's JSON."""

    model: str
    weights_sha256: str
    targets: tuple[str, ...]
    layers: tuple[str, ...]
    options: SanityOptions
    random_state: int
    p_values: np.ndarray  # (N, T, L) raw p-values of the random concepts
    significant: np.ndarray  # (N, T, L) after the gate and Holm
    cav_better: np.ndarray  # (N, L) random concepts whose CAVs beat random sets'
    planted: dict
    randomisation: tuple[dict, ...]
    seeds: dict
    seconds: float

    def summary(self) -> dict:
        """The headline numbers as JSON-ready data."""
        n_concepts, T, L = self.significant.shape
        k, n = int(self.significant.sum()), int(self.significant.size)
        fam = int(self.significant.reshape(n_concepts, -1).any(axis=1).sum())
        p = self.p_values.ravel()
        raw = int((p < 0.05).sum())
        hist = np.histogram(p, bins=10, range=(0, 1))[0]
        return {
            "model": self.model, "weights_sha256": self.weights_sha256, "targets": list(self.targets),
            "layers": list(self.layers), "options": self.options.to_dict(), "random_state": self.random_state,
            "false_positives": {
                "cells": n, "significant": k, "rate": k / n, "rate_ci95": wilson(k, n),
                "per_cell_max": float(self.significant.mean(axis=0).max()),
                "concepts_with_any": fam, "familywise_rate": fam / n_concepts,
                "familywise_ci95": wilson(fam, n_concepts),
                "layers_passing_gate": float(self.cav_better.mean()),
            },
            "raw_p": {"below_0.05": raw, "rate": raw / p.size, "rate_ci95": wilson(raw, p.size),
                      "ks_uniform_p": float(stats.kstest(p, "uniform").pvalue), "deciles": hist.tolist()},
            "planted": self.planted, "randomisation": list(self.randomisation), "seeds": self.seeds,
            "seconds": round(self.seconds, 1),
        }


def _random_concepts(rng, sources: list[str], *, n: int, size: int) -> list[np.ndarray]:
    """Row sets of the pool, each made of whole pieces (the last cut) until ``size`` rows, like a user concept."""
    names = sorted(set(sources))
    rows = {s: [] for s in names}
    for i, s in enumerate(sources):
        rows[s].append(i)
    out = []
    for _ in range(n):
        chosen: list[int] = []
        for k in rng.permutation(len(names)):
            chosen.extend(rows[names[k]])
            if len(chosen) >= size:
                break
        out.append(np.asarray(chosen[:size]))
    return out


def _planted(class_X: dict, target: str, *, overlap_steps: int, size: int):
    """Half the pieces of one class's excerpts as a concept; the class scored on the other half's excerpts."""
    X = class_X[target]
    g = overlap.chain_groups(X, overlap_steps=overlap_steps)
    first = np.isin(g, np.unique(g)[::2])
    concept_rows = np.flatnonzero(first)[:size]
    return X[concept_rows], [f"{target} piece {v}" for v in g[concept_rows]], {**class_X, target: X[~first]}


def _randomised(net: torch.nn.Module, k: int) -> torch.nn.Module:
    """A copy of ``net`` whose last ``k`` parametrised top-level modules are re-initialised (seeded)."""
    net = copy.deepcopy(net)
    tops = [m for _, m in net.named_children() if any(True for _ in m.parameters())]
    torch.manual_seed(1234 + k)
    for m in tops[::-1][:k]:
        for sub in m.modules():
            if hasattr(sub, "reset_parameters"):
                sub.reset_parameters()
    return net


def run(model, *, targets=None, layers=None, options: SanityOptions = SanityOptions(), random_state: int = 0,
        progress: Progress | None = None, inputs=None) -> SanityReport:
    """Run the sanity suite on a symbolic model with the shipped random pool and class excerpts.

    Parameters
    ----------
    model
        A :class:`xai.contract.Model` with ``classes``, ``layers`` and ``window_quarters``/``hop_quarters``.
    targets, layers : sequence of str, optional
        Classes and layers tested (default: all classes; the model's layers).
    options : SanityOptions
    random_state : int
    progress : Progress, optional
    inputs : (pool, pool sources, class excerpts), optional
        Default: the shipped sets of :mod:`xai.concepts.library`.

    Returns
    -------
    SanityReport
    """
    from xai.symbolic import music

    t0 = time.perf_counter()
    pool, sources, class_X = inputs if inputs is not None else concepts.tcav_sets(model)
    targets = tuple(targets or [c for c in model.classes if c in class_X])
    layers = tuple(layers or model.layers)
    class_X = {t: class_X[t][: options.max_class] for t in targets}
    topts = TCAVOptions(n_random=options.n_random, n_runs=options.n_runs)
    common = {"random_X": pool, "random_groups": list(sources), "layers": list(layers), "targets": list(targets),
              "classes": model.classes, "options": topts}
    say = progress or (lambda f, m: None)
    rng = np.random.default_rng(random_state)
    p, sig, better = [], [], []
    for i, rows in enumerate(_random_concepts(rng, list(sources), n=options.n_concepts, size=options.concept_size)):
        say(i / options.n_concepts * 0.7, f"random concept {i + 1} of {options.n_concepts}")
        res = tcav.score(pool[rows], model.net, class_X=class_X, concept_groups=[sources[r] for r in rows],
                         name=f"random {i + 1}", random_state=random_state + 1 + i, **common)
        p.append(res.p_values)
        sig.append(res.significant)
        better.append(res.cav_better)

    spec = music.input_spec(model)  # consecutive windows share (window - hop) of the model's time steps
    steps = int(round((spec.window - spec.hop) * spec.n_steps / spec.window))
    target = targets[0]
    cX, cg, planted_class = _planted(class_X, target, overlap_steps=steps, size=options.concept_size)
    kw = common | {"class_X": planted_class, "targets": [target]}

    def planted_on(net, seed) -> dict:
        r = tcav.score(cX, net, concept_groups=cg, name=f"{target} excerpts", random_state=seed, **kw)
        return {"tcav_mean": [round(float(v), 4) for v in r.tcav_mean[0]],
                "p_corrected": [float(v) for v in r.p_corrected[0]],
                "significant": [bool(v) for v in r.significant[0]],
                "cav_accuracy": [round(float(v), 4) for v in r.cav_accuracy[:, 0]]}

    say(0.75, "planted concept")
    planted = {"target": target, "n_examples": int(len(cX)), "n_pieces": len(set(cg))} | planted_on(model.net,
                                                                                                 random_state)
    randomisation = []
    n_tops = sum(1 for _, m in model.net.named_children() if any(True for _ in m.parameters()))
    for k in range(1, min(3, n_tops) + 1):
        say(0.8 + 0.03 * k, f"randomised model, {k} layer(s) from the top")
        net = _randomised(model.net, k)
        tops = [n for n, m in net.named_children() if any(True for _ in m.parameters())][::-1][:k]
        randomisation.append({"randomised": tops} | planted_on(net, random_state))
    say(0.9, "seed stability")
    runs = [planted["tcav_mean"]] + [planted_on(model.net, random_state + 1000 * s)["tcav_mean"]
                                     for s in range(1, options.n_seeds)]
    calls = [planted["significant"]] + [planted_on(model.net, random_state + 1000 * s)["significant"]
                                        for s in range(1, options.n_seeds)]
    seeds = {"seeds": options.n_seeds, "tcav_mean": runs,
             "max_abs_difference": float(np.ptp(np.array(runs), axis=0).max()),
             "significance_agrees": bool(all(c == calls[0] for c in calls))}
    return SanityReport(model=model.name, weights_sha256=str(getattr(model, "weights_sha256", "")),
                        targets=targets, layers=layers, options=options, random_state=int(random_state),
                        p_values=np.array(p), significant=np.array(sig), cav_better=np.array(better),
                        planted=planted, randomisation=tuple(randomisation), seeds=seeds,
                        seconds=time.perf_counter() - t0)


def asset_path(model_name: str) -> Path:
    """Where the shipped sanity numbers of a model live: ``assets/concepts/sanity_<model>.json``."""
    return concepts.ASSETS / f"sanity_{model_name}.json"


def shipped(model_name: str) -> dict | None:
    """The shipped sanity numbers of a model (``{'full': summary, 'test_subset': summary}``), or None."""
    path = asset_path(model_name)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_doc(numbers: dict, path: Path) -> None:
    """Write the sanity numbers as a Markdown page (``docs/tcav_sanity.md``) a reviewer can read."""
    lines = ["# How far to trust TCAV here: the sanity numbers", "",
             "Written by `python -m xai sanity --model NAME --recompute --write` (the same numbers ship in "
             "`assets/concepts/sanity_<model>.json`, which the TCAV page shows in *How far to trust this*). "
             "`tests/xai/concepts/test_sanity.py` recomputes the test subset and fails if the false-positive rate "
             "rises above 5 %. The method is in `xai/concepts/tcav.py` and `xai/concepts/sanity.py`.", ""]
    for key, title in (("full", "Full suite"), ("test_subset", "Test subset (recomputed by the tests)")):
        s = numbers.get(key)
        if not s:
            continue
        fp, raw, pl, sd = s["false_positives"], s["raw_p"], s["planted"], s["seeds"]
        o = s["options"]
        lines += [f"## {title}: model `{s['model']}`", "",
                  f"{o['n_concepts']} random concepts of {o['concept_size']} excerpts (whole training pieces) x "
                  f"{len(s['targets'])} classes ({', '.join(s['targets'])}) x {len(s['layers'])} layers "
                  f"({', '.join(s['layers'])}); null of {o['n_random']} random sets, {o['n_runs']} runs each; "
                  f"{o['max_class']} class excerpts; {s['seconds']:.0f} s.", "",
                  "| check | number |", "|---|---|",
                  f"| false-positive rate (cells significant after the gate and Holm) | {fp['significant']} / "
                  f"{fp['cells']} = {fp['rate']:.1%} (95 % CI {fp['rate_ci95'][0]:.1%}–{fp['rate_ci95'][1]:.1%}) |",
                  f"| worst cell | {fp['per_cell_max']:.1%} |",
                  f"| random concepts with any significant cell | {fp['concepts_with_any']} "
                  f"(CI {fp['familywise_ci95'][0]:.1%}–{fp['familywise_ci95'][1]:.1%}) |",
                  f"| layers where a random concept's CAV beats random sets' | {fp['layers_passing_gate']:.1%} |",
                  f"| raw p < 0.05 | {raw['rate']:.1%} (CI {raw['rate_ci95'][0]:.1%}–{raw['rate_ci95'][1]:.1%}) |",
                  f"| raw p uniformity, Kolmogorov–Smirnov p | {raw['ks_uniform_p']:.3f} |",
                  f"| raw p per decile | {raw['deciles']} |",
                  f"| planted ('{pl['target']}' excerpts of {pl['n_pieces']} pieces) | scores {pl['tcav_mean']}, "
                  f"significant {pl['significant']} |"]
        for r in s["randomisation"]:
            lines.append(f"| randomised {', '.join(r['randomised'])} | scores {r['tcav_mean']}, significant "
                         f"{r['significant']} |")
        lines += [f"| seeds ({sd['seeds']}) | largest change of a mean score {sd['max_abs_difference']:.3f}; "
                  f"calls agree: {sd['significance_agrees']} |", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

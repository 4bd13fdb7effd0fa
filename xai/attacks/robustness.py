"""The robustness study behind the Attack page's plots: the same test clips, the same attack, several models.

* Style models (black box ``style_audio``, interpretable mid-level bottleneck ``style_midlevel``, adversarially
  trained ``style_adversarial``): untargeted PGD (sign-Adam, :func:`xai.attacks.waveform.attack_batch`) against the
  true label at a grid of epsilons -> accuracy vs epsilon, SNR at success, and paired per-clip tests
  (McNemar on correct/incorrect at each epsilon; Wilcoxon signed-rank on the smallest epsilon that flips a clip).
* The instrument model: accuracy and mean SNR vs epsilon, a white-noise control at the attack's SNR, and
  targeted success towards every class (each clip is attacked towards each class other than its true one).

:func:`run_study` writes ``robustness.json`` (results + parameters + the command that reproduces it).
Needs the audio cache (xai.audio.dataset); the shipped JSON is what the page shows.
"""

from __future__ import annotations

import json
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import torch

from models import registry
from xai._paths import ASSETS
from xai.attacks import waveform as adv
from xai.audio import dataset as audio_data
from xai.contract import Progress
from xai.stats import wilson

STYLE_MODELS = ("style_audio", "style_midlevel", "style_adversarial")
STYLE_EPSILONS = (1e-4, 3e-4, 1e-3, 3e-3)
INSTRUMENT_EPSILONS = (1e-4, 3e-4, 1e-3, 2e-3)
TARGETED_EPSILON = 2e-3

# The papers' numbers (research note a2/a3), shown beside ours on the page.
PAPER_INSTRUMENT = [
    {"attack": "PGD (eps 5e-4, lr 1e-5)", "accuracy": "0.165-0.175", "snr_db": "40.1", "clean": 0.835,
     "source": "Prinz & Flexer, TISMIR suppl. A.1"},
    {"attack": "PGD (eps 0.01, lr 1e-3)", "accuracy": "0.020-0.030", "snr_db": "16.3-16.6", "clean": 0.835,
     "source": "Prinz & Flexer, TISMIR suppl. A.1"},
    {"attack": "C&W (eps 0.01, alpha 0.1)", "accuracy": "0.085-0.11", "snr_db": "42.8-43.3", "clean": 0.835,
     "source": "Prinz & Flexer, TISMIR suppl. A.1"},
    {"attack": "white noise", "accuracy": "0.785", "snr_db": "42.7", "clean": 0.835,
     "source": "Prinz & Flexer, TISMIR suppl. A.1.4"},
]


def _even(n_total: int, n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n_total - 1, min(n, n_total)).round().astype(int))


def _mcnemar(a: np.ndarray, b: np.ndarray) -> dict:
    """Exact McNemar test on paired booleans (correct under model A / model B)."""
    from scipy.stats import binomtest

    n01 = int(np.sum(a & ~b))
    n10 = int(np.sum(~a & b))
    p = 1.0 if n01 + n10 == 0 else float(binomtest(n01, n01 + n10, 0.5).pvalue)
    return {"a_only_correct": n01, "b_only_correct": n10, "mcnemar_p": p}


def _wilcoxon(a: np.ndarray, b: np.ndarray):
    from scipy.stats import wilcoxon

    d = a - b
    if not np.any(d != 0):
        return None
    return float(wilcoxon(a, b, zero_method="zsplit").pvalue)


def _attack_sweep(net, x, y, epsilons, steps, random_state, progress, label) -> dict:
    """Untargeted PGD against the true labels at each epsilon; per clip correctness, SNR at success."""
    with torch.no_grad():
        clean = (net(torch.from_numpy(x)).argmax(1).numpy() == y)
    correct = [clean]
    snr = []
    for i, eps in enumerate(epsilons):
        opt = adv.AttackOptions(method="pgd", epsilon=eps, steps=steps, lr=eps / 8, random_state=random_state)
        rows = []
        for s in range(0, len(x), 32):
            rows.append(adv.attack_batch(x[s:s + 32], net, opt, labels=y[s:s + 32]))
        ok = np.concatenate([~r.success for r in rows])
        correct.append(ok & clean)  # a clip wrong when clean stays wrong
        snr.append(np.concatenate([r.snr_db for r in rows]))
        if progress:
            progress((i + 1) / len(epsilons), f"{label}: epsilon {eps:g}, accuracy {np.mean(correct[-1]):.2f}")
    correct = np.stack(correct)  # (1 + E, n)
    snr = np.stack(snr)  # (E, n)
    grid = np.array((0.0,) + tuple(epsilons))
    # smallest epsilon that makes a clip wrong (0 if wrong when clean; 2x the largest if never)
    first_wrong = np.array([grid[np.argmax(~c)] if (~c).any() else 2 * grid[-1] for c in correct.T])
    # SNR at the smallest epsilon that flips a clip that was right when clean
    snr_succ = []
    for j in range(x.shape[0]):
        if not clean[j]:
            continue
        k = np.flatnonzero(~correct[1:, j])
        if k.size:
            snr_succ.append(float(snr[k[0], j]))
    return {"accuracy": [round(float(c.mean()), 4) for c in correct], "correct": correct, "first_wrong": first_wrong,
            "snr_at_success": [round(s, 2) for s in snr_succ],
            "median_snr_at_success": round(float(np.median(snr_succ)), 2) if snr_succ else None,
            "mean_snr_by_epsilon": [round(float(np.mean(s[np.isfinite(s)])), 2) for s in snr]}


def style_study(data, *, n_clips: int, steps: int, random_state: int, progress: Progress | None = None) -> dict:
    """Untargeted PGD at each epsilon on the three style models, with paired tests between them."""
    idx = _even(len(data), n_clips)
    x = data.waveform(idx).astype(np.float32)
    y = np.asarray(data.style)[idx].astype(np.int64)
    out = {"epsilons": [0.0, *STYLE_EPSILONS], "clip_indices": idx.tolist(), "models": {}, "paired_tests": []}
    raw = {}
    for i, name in enumerate(STYLE_MODELS):
        m = registry.load(name)
        sub = (lambda f, msg, i=i: progress((i + f) / len(STYLE_MODELS) * 0.6, msg)) if progress else None
        r = _attack_sweep(m.net, x, y, STYLE_EPSILONS, steps, random_state, sub, name)
        raw[name] = r
        out["models"][name] = {k: v for k, v in r.items() if k not in ("correct", "first_wrong")} | {
            "title": m.title, "weights_sha256": m.weights_sha256,
            "first_wrong_epsilon": [round(float(v), 6) for v in r["first_wrong"]]}
    for a, b in combinations(STYLE_MODELS, 2):
        both = raw[a]["correct"][0] & raw[b]["correct"][0]
        w = _wilcoxon(raw[a]["first_wrong"][both], raw[b]["first_wrong"][both]) if both.sum() > 5 else None
        for e, eps in enumerate(out["epsilons"]):
            if eps == 0:
                continue
            t = _mcnemar(raw[a]["correct"][e], raw[b]["correct"][e])
            out["paired_tests"].append({"a": a, "b": b, "epsilon": eps, **t,
                                        "wilcoxon_p": w, "n_both_clean_correct": int(both.sum())})
    return out


def instrument_study(data, *, n_clips: int, steps: int, random_state: int, n_targeted: int | None = None,
                     progress: Progress | None = None) -> dict:
    """The instrument model: accuracy and SNR vs epsilon, a white-noise control, targeted success per class."""
    m = registry.load("instrument")
    net = m.net
    idx = _even(len(data), n_clips)
    x = data.waveform(idx).astype(np.float32)
    y = np.asarray(data.instrument)[idx].astype(np.int64)
    with torch.no_grad():
        clean = net(torch.from_numpy(x)).argmax(1).numpy() == y
    out = {"model": "instrument", "weights_sha256": m.weights_sha256, "classes": list(m.classes),
           "n_clips": int(len(idx)), "clip_indices": idx.tolist(), "clean_accuracy": round(float(clean.mean()), 4),
           "chance": round(1 / len(m.classes), 4), "untargeted": []}
    for eps in INSTRUMENT_EPSILONS:
        opt = adv.AttackOptions(method="pgd", epsilon=eps, steps=steps, lr=eps / 8, random_state=random_state)
        r = adv.attack_batch(x, net, opt, labels=y)
        acc = float(np.mean(~r.success & clean))
        noise = adv.noise_at_snr(x, r.snr_db, random_state=random_state)
        with torch.no_grad():
            nacc = float(np.mean(net(torch.from_numpy(np.clip(x + noise, -1, 1))).argmax(1).numpy() == y))
        out["untargeted"].append({"epsilon": eps, "accuracy": round(acc, 4),
                                  "mean_snr_db": round(float(np.mean(r.snr_db)), 2),
                                  "median_iterations": float(np.median(r.iterations)),
                                  "noise_accuracy_same_snr": round(nacc, 4)})
        if progress:
            progress(0.6 + 0.2 * len(out["untargeted"]) / len(INSTRUMENT_EPSILONS),
                     f"instrument eps {eps:g}: accuracy {acc:.2f}")
    # targeted: every clip towards every class other than its true one
    C = len(m.classes)
    rows_x, rows_t, rows_c = [], [], []
    tsel = _even(len(idx), n_targeted or len(idx))  # an even subset of the clips, all classes
    for j in tsel:
        for t in range(C):
            if t != y[j]:
                rows_x.append(j)
                rows_t.append(t)
    rows_x, rows_t = np.array(rows_x), np.array(rows_t)
    opt = adv.AttackOptions(method="pgd", epsilon=TARGETED_EPSILON, steps=steps * 2, lr=TARGETED_EPSILON / 8,
                            random_state=random_state)
    succ, snr = np.zeros(len(rows_x), bool), np.zeros(len(rows_x))
    for s in range(0, len(rows_x), 64):
        sl = slice(s, s + 64)
        r = adv.attack_batch(x[rows_x[sl]], net, opt, labels=y[rows_x[sl]], targets=rows_t[sl])
        succ[sl], snr[sl] = r.success, r.snr_db
        rows_c.append(r.iterations)
        if progress:
            progress(0.8 + 0.2 * min(1.0, (s + 64) / len(rows_x)), f"instrument targeted {min(s + 64, len(rows_x))}/{len(rows_x)}")
    out["targeted"] = {
        "epsilon": TARGETED_EPSILON, "steps": steps * 2, "n_attacks": int(len(rows_x)), "n_clips": int(len(tsel)),
        "success_rate": round(float(succ.mean()), 4),
        "mean_snr_db_at_success": round(float(np.mean(snr[succ])), 2) if succ.any() else None,
        "success_by_class": {m.classes[t]: round(float(succ[rows_t == t].mean()), 4) for t in range(C)},
        "median_iterations": float(np.median(np.concatenate(rows_c))),
    }
    out["paper"] = PAPER_INSTRUMENT
    return out


def run_study(*, n_clips: int = 48, n_instrument: int = 60, n_targeted: int = 30, steps: int = 20,
              random_state: int = 0, out_dir: Path | None = None, progress: Progress | None = None,
              root=None) -> dict:
    """Run both studies on the cached test clips and write ``robustness.json`` into ``out_dir``."""
    torch.manual_seed(random_state)
    t0 = time.time()
    data = audio_data.load("test", root=root)
    style = style_study(data, n_clips=n_clips, steps=steps, random_state=random_state, progress=progress)
    ins = instrument_study(data, n_clips=n_instrument, steps=steps, random_state=random_state, n_targeted=n_targeted,
                           progress=progress)
    result = {
        "parameters": {"split": "test", "n_style_clips": len(style["clip_indices"]), "n_instrument_clips": n_instrument,
                       "n_targeted_clips": n_targeted,
                       "attack": "untargeted PGD, sign-Adam, lr = epsilon/8, no random start, stops at the first "
                                 "wrong answer; labels = true labels",
                       "steps": steps, "seed": random_state, "style_epsilons": list(STYLE_EPSILONS),
                       "instrument_epsilons": list(INSTRUMENT_EPSILONS), "targeted_epsilon": TARGETED_EPSILON,
                       "command": f"nice -n 10 python -m xai robustness --clips {n_clips} --instrument-clips "
                                  f"{n_instrument} --targeted-clips {n_targeted} --steps {steps} --seed {random_state}",
                       "seconds": None},
        "style": style,
        "instrument": ins,
    }
    result["parameters"]["seconds"] = round(time.time() - t0, 1)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "robustness.json").write_text(json.dumps(result, indent=1))
    return result


def shipped_path() -> Path:
    """Where the shipped study is (assets/adversarial/robustness.json), whether or not it is there."""
    return ASSETS / "adversarial" / "robustness.json"


def load_shipped(path: Path | None = None) -> dict | None:
    """The shipped study (assets/adversarial/robustness.json) with its statistics (:func:`with_statistics`), or
    None if it is not there."""
    p = path or ASSETS / "adversarial" / "robustness.json"
    return with_statistics(json.loads(p.read_text())) if p.exists() else None


def holm(pvalues) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (Holm 1979), in the given order; None stays None."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda i: pvalues[i])
    m, out, running = len(idx), list(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = round(running, 6)
    return out


def with_statistics(study: dict) -> dict:
    """Add what a reviewer asks of the study without rerunning it: a Wilson 95 % interval (over clips) at every
    epsilon of every accuracy curve, and Holm-adjusted p-values over each family of paired tests (all McNemar
    tests together; the Wilcoxon tests, one per pair of models, together). The intervals cover clips only: each model kind was trained once
    (one seed), so the spread over training runs is not in them."""
    out = json.loads(json.dumps(study))
    style, n = out.get("style") or {}, int(out.get("parameters", {}).get("n_style_clips", 0))
    for m in style.get("models", {}).values():
        if n:
            m["accuracy_ci95"] = [wilson(int(round(a * n)), n) for a in m["accuracy"]]
    tests = style.get("paired_tests", [])
    for t, adj in zip(tests, holm([t.get("mcnemar_p") for t in tests]), strict=True):
        t["mcnemar_p_holm"] = adj
    # one Wilcoxon test per pair of models (it is repeated on every epsilon's row): the family is the pairs
    pairs = {(t["a"], t["b"]): t.get("wilcoxon_p") for t in tests}
    adjusted = dict(zip(pairs, holm(list(pairs.values())), strict=True))
    for t in tests:
        t["wilcoxon_p_holm"] = adjusted[(t["a"], t["b"])]
    ins, n_ins = out.get("instrument"), int(out.get("parameters", {}).get("n_instrument_clips", 0))
    if ins and n_ins:
        for r in ins.get("untargeted", []):
            r["accuracy_ci95"] = wilson(int(round(r["accuracy"] * n_ins)), n_ins)
    out.setdefault("statistics", "Wilson 95 % intervals over clips; Holm-adjusted p-values per family of tests; one "
                                 "training seed per model kind, so differences between training runs are not measured")
    return out


SEEDS_DIR = ASSETS / "adversarial" / "seeds"


def seed_folder(k: int) -> Path:
    """Where the replicas of training seed ``k`` of the style models are kept (seed 0: the shipped models)."""
    return SEEDS_DIR / f"seed{k}"


def replica_seeds() -> list[int]:
    """The seed offsets with a replica of every style model on disk, 0 (the shipped models) first."""
    found = sorted(int(p.name[4:]) for p in SEEDS_DIR.glob("seed*") if p.name[4:].isdigit()
                   and all((p / f"{n}.safetensors").exists() for n in STYLE_MODELS))
    return [0, *found]


def _over_seeds(values: np.ndarray) -> dict:
    """Mean, standard deviation and a t-based 95 % interval over training seeds (rows) for every column."""
    s = values.shape[0]
    mean, sd = values.mean(0), values.std(0, ddof=1) if s > 1 else np.zeros(values.shape[1])
    from scipy.stats import t

    half = t.ppf(0.975, s - 1) * sd / np.sqrt(s) if s > 1 else np.zeros_like(mean)
    return {"mean": [round(float(v), 4) for v in mean], "sd": [round(float(v), 4) for v in sd],
            "ci95": [[round(max(0.0, float(m - h)), 4), round(min(1.0, float(m + h)), 4)] for m, h in zip(mean, half)]}


def seed_study(data, models: dict, *, n_clips: int = 96, steps: int = 20, random_state: int = 0,
               progress: Progress | None = None) -> dict:
    """Untargeted PGD at each epsilon on every training seed of every style model kind, on the same clips.

    ``models``: kind -> list of (seed offset, registry Model); seed 0 is the shipped model. Per kind: accuracy at
    each epsilon per seed (with a Wilson interval over clips), and over seeds the mean, standard deviation and a
    t-based 95 % interval (the spread over training runs). Per pair of kinds and epsilon: a Wilcoxon signed-rank
    test over clips of each clip's share of seeds that stay correct (the unit is the clip; the seeds are averaged
    within it), Holm-adjusted over all pairs and epsilons, and in how many seeds kind ``a`` beats kind ``b``.
    """
    idx = _even(len(data), n_clips)
    x = data.waveform(idx).astype(np.float32)
    y = np.asarray(data.style)[idx].astype(np.int64)
    eps = [0.0, *STYLE_EPSILONS]
    out = {"epsilons": eps, "clip_indices": idx.tolist(), "kinds": {}, "paired_tests": []}
    correct = {}
    total = sum(len(v) for v in models.values())
    done = 0
    for kind, runs in models.items():
        rows, seeds = [], []
        for k, m in runs:
            sub = (lambda f, msg, d=done: progress((d + f) / total, msg)) if progress else None
            r = _attack_sweep(m.net, x, y, STYLE_EPSILONS, steps, random_state, sub, f"{kind} seed {k}")
            rows.append(r["correct"])
            entry = {"seed": k, "accuracy": r["accuracy"],
                     "accuracy_ci95": [wilson(int(round(a * len(idx))), len(idx)) for a in r["accuracy"]],
                     "median_snr_at_success": r["median_snr_at_success"]}
            # seed 0 names the shipped model, so registry.outdated_models notices when its weights change
            entry |= ({"model": kind, "weights_sha256": m.weights_sha256} if k == 0
                      else {"replica_of": kind, "replica_sha256": m.weights_sha256})
            seeds.append(entry)
            done += 1
        correct[kind] = np.stack(rows).astype(float)  # (seeds, 1 + E, n)
        acc = correct[kind].mean(2)
        out["kinds"][kind] = {"title": runs[0][1].title, "seeds": seeds, "accuracy": _over_seeds(acc)}
    for a, b in combinations(models, 2):
        for e, epsilon in enumerate(eps):
            if epsilon == 0:
                continue
            ca, cb = correct[a][:, e].mean(0), correct[b][:, e].mean(0)
            p = _wilcoxon(ca, cb)
            s = min(len(correct[a]), len(correct[b]))
            wins = int(np.sum(correct[a][:s, e].mean(1) > correct[b][:s, e].mean(1)))
            out["paired_tests"].append({"a": a, "b": b, "epsilon": epsilon, "accuracy_a": round(float(ca.mean()), 4),
                                        "accuracy_b": round(float(cb.mean()), 4),
                                        "wilcoxon_p": 1.0 if p is None else round(p, 6),
                                        "seeds_a_better": wins, "seeds_b_better": int(np.sum(
                                            correct[a][:s, e].mean(1) < correct[b][:s, e].mean(1))),
                                        "n_seeds": s})
    for t, adj in zip(out["paired_tests"], holm([t["wilcoxon_p"] for t in out["paired_tests"]]), strict=True):
        t["wilcoxon_p_holm"] = adj
    out["n_clips"] = len(idx)
    return out


def run_seed_study(*, n_clips: int = 96, steps: int = 20, random_state: int = 0, out_dir: Path | None = None,
                   progress: Progress | None = None, root=None) -> dict:
    """:func:`seed_study` on the shipped style models and every replica seed on disk; writes
    ``robustness_seeds.json`` into ``out_dir`` with its parameters and the command that reproduces it."""
    t0 = time.time()
    seeds = replica_seeds()
    models = {kind: [(k, registry.load(kind) if k == 0 else registry.load(kind, folder=seed_folder(k)))
                     for k in seeds] for kind in STYLE_MODELS}
    data = audio_data.load("test", root=root)
    result = seed_study(data, models, n_clips=n_clips, steps=steps, random_state=random_state, progress=progress)
    result["parameters"] = {
        "split": "test", "seeds": seeds, "n_clips": result["n_clips"], "steps": steps, "attack_seed": random_state,
        "attack": "untargeted PGD, sign-Adam, lr = epsilon/8, no random start, stops at the first wrong answer; "
                  "labels = true labels",
        "statistics": "per seed: Wilson 95 % interval over clips; over seeds: mean, sd and a t-based 95 % interval; "
                      "paired: Wilcoxon signed-rank over clips of the share of seeds correct, Holm over all pairs "
                      "and epsilons",
        "train_command": "python -m training.robustness_seeds --seeds " + ",".join(str(k) for k in seeds if k),
        "command": f"python -m xai robustness-seeds --clips {n_clips} --steps {steps} --seed {random_state}",
        "seconds": round(time.time() - t0, 1)}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "robustness_seeds.json").write_text(json.dumps(result, indent=1))
    return result


def test_accuracy_over_seeds(seeds) -> list[dict]:
    """Each style model kind's clean accuracy on the whole test split, per training seed (from the model cards:
    the shipped one for seed 0, the replicas' for the others), with the mean and standard deviation over seeds."""
    rows = []
    for kind in STYLE_MODELS:
        accs = []
        for k in seeds:
            path = (registry.ASSETS if k == 0 else seed_folder(k)) / f"{kind}.json"
            if path.exists():
                accs.append(float(json.loads(path.read_text())["metrics"]["test"]["accuracy"]))
        if accs:
            rows.append({"model": kind, "per_seed": [round(a, 4) for a in accs], "mean": round(float(np.mean(accs)), 4),
                         "sd": round(float(np.std(accs, ddof=1)), 4) if len(accs) > 1 else 0.0})
    return rows


def seeds_path() -> Path:
    """Where the shipped study over training seeds is (assets/adversarial/robustness_seeds.json)."""
    return ASSETS / "adversarial" / "robustness_seeds.json"


def load_seed_study(path: Path | None = None) -> dict | None:
    """The shipped study over training seeds (:func:`seeds_path`), or None."""
    p = path or seeds_path()
    return json.loads(p.read_text()) if p.exists() else None


def clip_sweep(x: np.ndarray, models: dict, *, epsilons=(1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2), steps: int = 30,
               progress: Progress | None = None) -> list[dict]:
    """For one 4-s window: per model, the smallest epsilon (of ``epsilons``) at which untargeted PGD changes the
    model's answer, with the SNR there. ``models`` maps name -> registry Model. Rerun of the study on one clip."""
    out = []
    for i, (name, m) in enumerate(models.items()):
        row = {"model": name, "title": m.title, "epsilon": None, "snr_db": None, "label": None}
        for j, eps in enumerate(epsilons):
            if progress is not None:
                adv._report(progress, (i + j / len(epsilons)) / len(models), f"{name}: epsilon {eps:g}")
            r = adv.attack_batch(x[None], m.net, adv.AttackOptions(method="pgd", epsilon=eps, steps=steps,
                                                                   lr=eps / 8))
            if r.success[0]:
                row.update(epsilon=eps, snr_db=round(float(r.snr_db[0]), 2),
                           label=m.classes[int(r.adversarial_label[0])], original=m.classes[int(r.original_label[0])])
                break
        out.append(row)
    return out

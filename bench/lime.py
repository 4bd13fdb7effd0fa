"""Benchmark: our LIME (xai.local.lime) against the `lime` package and captum's Lime, and the stability measurement
behind the default sample count.

    .venv/bin/python bench/lime.py [--samples 1000] [--repeats 1] [--stability] [--stability-only]
                                   [--sizes 250 500 1000 2000 4000] [--seeds 5]

Comparison (same model, same segments, same kernel, same number of samples):
- audio: the shipped ``style_audio`` (and ``instrument``) on a bundled example recording, 5 x 4 time x band cells
  of the model's log filter-bank, switched-off cells = the clip's mean (veracity's setting);
- symbolic: the shipped ``composer`` on a bundled chorale, 8 bars x 4 voices in 2-bar segments (16 segments).
Each side:
- ours: ``xai.local.lime.fit`` with the batched score function (one gather / one matrix product per batch, and for
  scores a memo of distinct window patterns);
- lime: ``lime.lime_base.LimeBase.explain_instance_with_data`` after lime_image's ``data_labels`` loop (one
  Python composition per sample, ``batch_size`` 10 = lime's default), its own sampling (RandomState), kernel
  sqrt(exp(-d^2/w^2)) on sklearn's cosine distance, Ridge(alpha=1), feature_selection 'none'; and once more on
  *our* coalitions, which must give our ranking exactly (a check of our arithmetic);
- captum: ``captum.attr.Lime`` with the same kernel on the interpretable (binary) sample, SkLearnRidge(alpha=1),
  its default Bernoulli(0.5) sampling, ``perturbations_per_eval`` 1 (its default) and 64.
Reported: seconds per 1000 samples, ratios, and rank agreement with ours (top-3 overlap, Spearman rho of the
weights). Stability (``--stability``): for each sample count, LIME is run with 5 seeds and the mean pairwise
Jaccard of the top-3 segments is recorded; the defaults in ``xai.local.lime.LimeOptions`` come from it.
Results and parameters go to bench/results/lime.json (comparison) and bench/results/lime_stability.json
(``--stability`` / ``--stability-only``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
# This file is called lime.py: drop its folder from the path so `import lime` finds the lime package.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

from models import registry  # noqa: E402
from xai.audio import clip as audio  # noqa: E402
from xai.local import lime
from xai.local.segments import _PieceScorer, segment_notes  # noqa: E402
from xai.symbolic import io

CLIP = ROOT / "assets" / "examples" / "audio" / "bach__choir__fluidr3.ogg"
CLIPS = sorted((ROOT / "assets" / "examples" / "audio").glob("*.ogg"))
PIECE = ROOT / "assets" / "examples" / "bach__bwv20.7.mxl"
PIECES = [ROOT / "assets" / "examples" / n for n in ("bach__bwv20.7.mxl", "monteverdi__madrigal.4.15.mxl",
                                                      "palestrina__Sanctus_60_d.krn", "folk__EmpressClog.abc")]


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def _agree(ours: np.ndarray, theirs: np.ndarray, k: int = 3) -> dict:
    o, t = np.argsort(-ours, kind="stable")[:k], np.argsort(-theirs, kind="stable")[:k]
    return {"top3_overlap": len(set(o.tolist()) & set(t.tolist())) / k, "top1_same": bool(o[0] == t[0]),
            "spearman": round(_spearman(ours, theirs), 4)}


# ---------------------------------------------------------------------------------------------- the problems


class AudioProblem:
    """style_audio (or another audio model) on one 4-s window, 5 x 4 cells, off = mean."""

    def __init__(self, model_name: str, clip_path: Path):
        from xai.audio.dataset import CLIP_SAMPLES

        self.model = registry.load(model_name)
        x = audio.load_audio(clip_path).waveform[:CLIP_SAMPLES]
        net = self.model.net
        with torch.inference_mode():
            self.spec = net.spectrogram(torch.from_numpy(np.ascontiguousarray(x))[None])[0].float()
            self.target = int(torch.argmax(net.from_spectrogram(self.spec[None])[0]))
        self.grid = lime.TimeBandGrid(5, 4, self.spec.shape[1], self.spec.shape[0])
        self.idx = torch.from_numpy(self.grid.index())
        self.base = self.spec.mean()
        self.S = 20
        self.name = f"{model_name} time-bands 5x4, {clip_path.name}"
        self.batch_size = 32
        self.fresh()

    def fresh(self, *, jit: bool = True):
        net = self.model.net
        self.forward = lime.fast(net, "from_spectrogram", self.spec[None].repeat(2, 1, 1)) if jit else \
            net.from_spectrogram

    def score(self, masks):  # ours: one gather + where per batch
        keep = torch.from_numpy(np.asarray(masks, dtype=bool))[:, self.idx]
        with torch.inference_mode():
            out = self.forward(torch.where(keep, self.spec, self.base))
        return torch.softmax(out, 1)[:, self.target].double().numpy()

    # lime_image's data_labels: compose every sample in Python
    def lime_compose(self, row: np.ndarray) -> np.ndarray:
        temp = self.spec.numpy().copy()
        zeros = np.flatnonzero(row == 0)
        mask = np.isin(self.grid.index(), zeros)
        temp[mask] = float(self.base)
        return temp

    def classifier_fn(self, batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(self.model.net.from_spectrogram(torch.from_numpy(np.asarray(batch))), 1).numpy()

    def captum_inputs(self):
        return self.spec[None], self.idx[None], self.base.item(), (lambda x: torch.softmax(
            self.model.net.from_spectrogram(x), 1))


class PieceProblem:
    """composer on 8 bars of a score, 2-bar segments x voices (or registers)."""

    def __init__(self, path: Path, *, start_bar: int | None = None):
        from xai.local.segments import default_span

        self.model = registry.load("composer")
        piece = io.load(path)
        pred_t = None
        from xai.symbolic.predict import classify

        pred_t = int(np.argmax(classify(piece, self.model).piece_probabilities))
        sb = default_span(piece, self.model, pred_t, 8) if start_bar is None else start_bar
        nums = piece.bar_numbers
        i0 = int(np.argmax(nums >= sb))
        i1 = min(i0 + 8, len(nums)) - 1
        b0, b1 = piece.bar_range(int(nums[i0]), int(nums[i1]))
        self.excerpt = piece.slice(b0, b1)
        self.seg = segment_notes(self.excerpt, bars_per_segment=2)
        self.S = self.seg.n_segments
        self.target = int(np.argmax(classify(self.excerpt, self.model).piece_probabilities))
        self.scorer = _PieceScorer(self.model, self.excerpt, self.seg, self.target)
        self.name = f"composer {self.seg.kind}, {path.name} bars {nums[i0]}-{nums[i1]}"
        self.batch_size = 256  # coalitions per call; the scorer sends new windows to the network 32 at a time
        # for the per-sample pipelines: the segment rolls over the whole excerpt and the fixed windows
        from xai.symbolic import music

        sc = self.scorer
        spq = music.STEPS_PER_QUARTER
        self.T = max(int(round(w.start_beat * spq)) + sc.L for w in sc.wins)
        self.rolls = np.stack([music.piano_roll(_subset(self.excerpt, self.seg.note_segment == s), n_steps=self.T)
                               for s in range(self.S)])
        self.starts = [int(round(w.start_beat * spq)) for w in sc.wins]

    def score(self, masks):
        return self.scorer(masks)

    def fresh(self, *, jit: bool = True):  # a new memo: timings must not reuse an earlier run's network calls
        if not jit:
            os.environ["MUSICXAI_NO_JIT"] = "1"
        try:
            self.scorer = _PieceScorer(self.model, self.excerpt, self.seg, self.target)
        finally:
            os.environ.pop("MUSICXAI_NO_JIT", None)

    def _prob_of_rolls(self, rolls: torch.Tensor) -> torch.Tensor:
        """(n, 2, 88, T) excerpt rolls -> (n, C) piece-level probabilities (windows fixed, as classify)."""
        L = self.scorer.L
        W = []
        for s0 in self.starts:
            w = rolls[:, :, :, s0 : s0 + L]
            if w.shape[-1] < L:
                w = torch.nn.functional.pad(w, (0, L - w.shape[-1]))
            w = w.clone()
            w[:, 0, :, 0] = torch.maximum(w[:, 0, :, 0], w[:, 1, :, 0])
            W.append(w)
        X = torch.stack(W, 1)  # (n, W, 2, 88, L)
        n, nw = X.shape[:2]
        with torch.inference_mode():
            p = torch.softmax(self.model.net(X.reshape(n * nw, 2, 88, L)).float(), 1).double().reshape(n, nw, -1)
        sounding = X[:, :, 1].reshape(n, nw, -1).amax(2) > 0
        lp = torch.log(p.clamp(1e-9, 1.0))
        mean = (lp * sounding[..., None]).sum(1) / sounding.sum(1).clamp_min(1)[:, None]
        out = torch.softmax(mean, 1)
        out[sounding.sum(1) == 0] = 1.0 / out.shape[1]
        return out

    def lime_compose(self, row: np.ndarray) -> np.ndarray:
        return (self.rolls[row.astype(bool)].max(axis=0) if row.any() else np.zeros(self.rolls.shape[1:], np.float32))

    def classifier_fn(self, batch: np.ndarray) -> np.ndarray:
        return self._prob_of_rolls(torch.from_numpy(np.asarray(batch, dtype=np.float32))).numpy()

    def captum_inputs(self):
        # The excerpt's roll; every sounding cell belongs to the segment of its note (cells where segments
        # overlap go to the first; silent cells are 0 and stay 0, so any id works for them).
        full = torch.from_numpy(self.rolls.max(axis=0))[None]
        owner = np.argmax(self.rolls > 0, axis=0)
        return full, torch.from_numpy(owner)[None], 0.0, self._prob_of_rolls


def _subset(piece, keep):
    from xai.local.segments import subset

    return subset(piece, keep)


# ---------------------------------------------------------------------------------------------- the three sides


class Clock:
    """Wall time and this process's CPU time (all threads) of a block: on a shared machine the CPU time is the
    fairer measure, since other people's jobs stretch the wall time of whichever side runs at that moment."""

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def run_ours(p, samples: int, seed: int, *, jit: bool = True) -> tuple[Clock, lime.LimeFit]:
    p.fresh(jit=jit)
    with Clock() as c:
        f = lime.fit(p.score, p.S, samples=samples, random_state=seed, kernel_width=0.25, batch_size=p.batch_size)
    return c, f


def _lime_data_labels(p, data: np.ndarray, batch_size: int = 10) -> np.ndarray:
    labels, imgs = [], []
    for row in data:
        imgs.append(p.lime_compose(row))
        if len(imgs) == batch_size:
            labels.extend(p.classifier_fn(np.array(imgs)))
            imgs = []
    if imgs:
        labels.extend(p.classifier_fn(np.array(imgs)))
    return np.array(labels)


def run_lime(p, samples: int, seed: int, *, data: np.ndarray | None = None) -> tuple[Clock, np.ndarray]:
    from lime.lime_base import LimeBase
    from sklearn.metrics import pairwise_distances

    c = Clock().__enter__()
    if data is None:  # lime_image's sampling
        rs = np.random.RandomState(seed)
        data = rs.randint(0, 2, samples * p.S).reshape((samples, p.S))
        data[0, :] = 1
    labels = _lime_data_labels(p, data)
    distances = pairwise_distances(data, data[0].reshape(1, -1), metric="cosine").ravel()
    base = LimeBase(lambda d: np.sqrt(np.exp(-(d**2) / 0.25**2)), verbose=False, random_state=seed)
    _, exp, score, _ = base.explain_instance_with_data(data, labels, distances, p.target, p.S,
                                                       feature_selection="none")
    w = np.zeros(p.S)
    for i, v in exp:
        w[i] = v
    c.__exit__()
    return c, w


def run_captum(p, samples: int, seed: int, *, ppe: int = 1) -> tuple[Clock, np.ndarray]:
    from captum._utils.models.linear_model import SkLearnRidge
    from captum.attr import Lime

    x, mask, base, fwd = p.captum_inputs()
    S = p.S

    def similarity(original, perturbed, interp_sample, **kw):
        k = float(interp_sample.sum())
        d = 1.0 - np.sqrt(k / S)
        return float(np.sqrt(np.exp(-(d**2) / 0.25**2)))

    torch.manual_seed(seed)
    explainer = Lime(fwd, interpretable_model=SkLearnRidge(alpha=1.0), similarity_func=similarity)
    with Clock() as c, torch.inference_mode(False), torch.no_grad():
        attr = explainer.attribute(x, target=p.target, feature_mask=mask, baselines=base, n_samples=samples,
                                   perturbations_per_eval=ppe, return_input_shape=False)
    return c, attr.detach().numpy().reshape(-1)[:S]


def compare(p, samples: int, seed: int, repeats: int) -> dict:
    print(f"\n== {p.name}: {p.S} segments, {samples} samples", flush=True)
    load0 = os.getloadavg()[0]
    c_ours = min((run_ours(p, samples, seed)[0] for _ in range(repeats)), key=lambda c: c.cpu)
    c_plain = min((run_ours(p, samples, seed, jit=False)[0] for _ in range(repeats)), key=lambda c: c.cpu)
    _, f = run_ours(p, samples, seed)
    c_lime, w_lime = run_lime(p, samples, seed)
    masks, _ = lime.coalitions(p.S, samples, seed)
    _, w_same = run_lime(p, samples, seed, data=masks.astype(int))
    c_c1, w_c1 = run_captum(p, samples, seed, ppe=1)
    c_c64, w_c64 = run_captum(p, samples, seed, ppe=64)
    per1000 = 1000.0 / samples
    sides = {"ours": c_ours, "ours_without_jit": c_plain, "lime_batch10": c_lime, "captum_ppe1": c_c1,
             "captum_ppe64": c_c64}
    out = {
        "problem": p.name, "segments": p.S, "samples": samples, "exact": bool(f.exact),
        "load_average_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "cpu_seconds_per_1000": {k: round(c.cpu * per1000, 3) for k, c in sides.items()},
        "wall_seconds_per_1000": {k: round(c.wall * per1000, 3) for k, c in sides.items()},
        "ratio_vs_ours_cpu": {k: round(c.cpu / c_ours.cpu, 2) for k, c in sides.items() if k != "ours"},
        "ratio_vs_ours_wall": {k: round(c.wall / c_ours.wall, 2) for k, c in sides.items() if k != "ours"},
        "agreement_with_ours": {"lime_same_coalitions": _agree(f.weights, w_same),
                                "lime_own_sampling": _agree(f.weights, w_lime),
                                "captum_own_sampling": _agree(f.weights, w_c1),
                                "captum_ppe64_own_sampling": _agree(f.weights, w_c64)},
        "max_abs_weight_diff_same_coalitions": float(np.max(np.abs(f.weights - w_same))),
        "ours_top3": f.top(3), "ours_r2": round(f.r2, 4),
    }
    for kind in ("cpu", "wall"):
        s, r = out[f"{kind}_seconds_per_1000"], out[f"ratio_vs_ours_{kind}"]
        print(f"{kind} seconds per 1000 samples: ours {s['ours']:.2f} (without the frozen trace "
              f"{s['ours_without_jit']:.2f}), lime (batch 10) {s['lime_batch10']:.2f} ({r['lime_batch10']:.1f}x), "
              f"captum ppe=1 {s['captum_ppe1']:.2f} ({r['captum_ppe1']:.1f}x), captum ppe=64 "
              f"{s['captum_ppe64']:.2f} ({r['captum_ppe64']:.1f}x)")
    print(f"  load average {out['load_average_1min']} on {os.cpu_count()} cores")
    for k, v in out["agreement_with_ours"].items():
        print(f"  agreement {k}: top-3 overlap {v['top3_overlap']:.2f}, top-1 same {v['top1_same']}, "
              f"Spearman {v['spearman']:.2f}")
    print(f"  same coalitions: max |weight difference| {out['max_abs_weight_diff_same_coalitions']:.2e}")
    return out


def stability_curve(p, sizes: list[int], seeds: int) -> dict:
    rows = []
    for n in sizes:
        p.fresh()
        t = time.perf_counter()
        fits = [lime.fit(p.score, p.S, samples=n, random_state=s) for s in range(seeds)]
        dt = (time.perf_counter() - t) / seeds
        jac = lime.top_k_jaccard([f.ranking for f in fits], 3)
        rows.append({"samples": n, "mean_jaccard_top3": round(jac, 4), "seconds_per_run": round(dt, 3),
                     "mean_r2": round(float(np.mean([f.r2 for f in fits])), 4)})
        print(f"  {p.name}: {n:5d} samples -> top-3 Jaccard {jac:.2f} ({dt:.2f} s per run)", flush=True)
    return {"problem": p.name, "segments": p.S, "seeds": seeds, "curve": rows}


BUDGET = 1000  # samples: with 5 stability seeds an explanation then costs ~5000 model calls, seconds on a CPU
RULE = (f"default samples per modality = the smallest size, at most {BUDGET} (so an explanation with its 5-seed "
        "stability check stays within seconds on a laptop CPU), whose mean top-3 Jaccard averaged over the "
        f"problems of the modality is at least 0.8; if none is, {BUDGET}. Larger sizes are measured to show what "
        "more samples would buy.")


def choose_defaults(stab: dict) -> dict:
    """Apply RULE to a stability measurement (adds the per-modality means and the chosen sizes)."""
    sizes = stab["sizes"]
    stab["rule"] = RULE
    for modality in ("audio", "symbolic"):
        cs = [c for c in stab["curves"] if c["problem"].startswith("composer") == (modality == "symbolic")]
        means = [float(np.mean([c["curve"][i]["mean_jaccard_top3"] for c in cs])) for i in range(len(sizes))]
        ok = [n for n, m in zip(sizes, means) if m >= 0.8 and n <= BUDGET]
        stab[f"{modality}_mean_jaccard"] = dict(zip(map(str, sizes), [round(m, 4) for m in means]))
        stab[f"{modality}_chosen_samples"] = ok[0] if ok else BUDGET
        print(f"{modality}: mean top-3 Jaccard by samples {stab[f'{modality}_mean_jaccard']} -> "
              f"default {stab[f'{modality}_chosen_samples']}")
    return stab


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stability", action="store_true", help="also measure top-3 stability against sample count")
    ap.add_argument("--stability-only", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000, 4000])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--problems", nargs="+", default=["style_audio", "instrument", "composer"],
                    choices=["style_audio", "instrument", "composer"], help="which comparisons to (re)run")
    ap.add_argument("--choose-only", action="store_true",
                    help="re-apply the rule for the defaults to bench/results/lime_stability.json")
    args = ap.parse_args()
    if args.choose_only:
        path = RESULTS / "lime_stability.json"
        d = json.loads(path.read_text())
        d["stability"] = choose_defaults(d["stability"])
        path.write_text(json.dumps(d, indent=1))
        return 0
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    out_path = RESULTS / "lime.json"
    out = {"command": "python bench/lime.py " + " ".join(sys.argv[1:]), "machine": platform.platform(),
           "threads": torch.get_num_threads(), "torch": torch.__version__, "kernel_width": 0.25}
    if not args.stability_only:
        makers = {"style_audio": lambda: AudioProblem("style_audio", CLIP),
                  "instrument": lambda: AudioProblem("instrument", CLIP), "composer": lambda: PieceProblem(PIECE)}
        prev = json.loads(out_path.read_text()).get("comparison", []) if out_path.exists() else []
        out["comparison"] = []
        for name, make in makers.items():
            if name in args.problems:
                out["comparison"].append(compare(make(), args.samples, args.seed, args.repeats))
            else:  # keep the earlier measurement of a problem not run this time
                out["comparison"] += [c for c in prev if c["problem"].startswith(name + " ")]
    if args.stability or args.stability_only:
        print("\n== stability: mean pairwise Jaccard of the top-3 over seeds", flush=True)
        curves = [stability_curve(AudioProblem("style_audio", c), args.sizes, args.seeds) for c in CLIPS[:2]]
        curves += [stability_curve(PieceProblem(pth), args.sizes, args.seeds) for pth in PIECES]
        out["stability"] = choose_defaults({"sizes": args.sizes, "seeds": args.seeds, "curves": curves})
        stab_path = RESULTS / "lime_stability.json"
        stab_path.write_text(json.dumps({k: out[k] for k in ("command", "machine", "threads", "torch", "kernel_width",
                                                            "stability")}, indent=1))
        print(f"\nwritten {stab_path.relative_to(ROOT)}")
    if "comparison" in out:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps({k: v for k, v in out.items() if k != "stability"}, indent=1))
        print(f"\nwritten {out_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Veracity of LIME (after Praher, Prinz et al., ISMIR 2021): does LIME find where an adversarial perturbation is?

The attack works in the model's own spectrogram domain (``net.spectrogram`` -> ``net.from_spectrogram``), so a
perturbation can be confined to chosen cells of LIME's time x band grid exactly (the paper's spectrogram column;
its waveform column perturbs samples, whose effect on the grid is not confined). Each clip is attacked in the
paper's settings, each time untargeted L-infinity sign-Adam (:func:`xai.attacks.waveform.linf_sign_adam`) in log
filter-bank units:

``free``
    **(a) the whole input**, the paper's first experiment (Table 1): the attack may change every cell and stops
    at the first changed answer. Neither pick below knows where the perturbation matters.
``confident``
    (a) again, but the attack goes on until the new answer has probability >= :data:`CONFIDENT`: the paper
    stops a song's attack when *all* its excerpts have flipped, which leaves most excerpts well past the line
    (its README calls excerpt-level success "relatively low"); this is the nearest single-clip stand-in.
``planted``
    **(b) planted in k segments, the rest of delta zero** (the paper's Fig. 3 question): the energy baseline is
    an oracle here, since the only energy is where the cause is.
``decoy``
    **(c) planted with a decoy**: the perturbation of (b), plus k other segments of random noise with
    :data:`DECOY_RATIO` times the energy of the loudest planted segment, checked not to change the answer on its
    own nor to undo the planted change. The planted part alone still flips the answer and the decoy's part alone
    does not, so energy is a misleading cue and a faithful explanation still finds the planted segments.

For each successful attack LIME (:func:`xai.local.lime.fit`, 'mean' for switched-off cells, kernel width 0.25, as
veracity) explains the *adversarial* answer on the adversarial spectrogram. The "flip" test (the paper's veracity
metric): add to the original only the part of delta inside the k segments picked, and see whether the answer
changes. Picks compared: LIME's top-k, the k segments with the most energy of delta (the paper's norm baseline),
and k random segments (chance). Rates come with Wilson 95 % intervals and n; LIME vs energy with an exact
McNemar test on the same clips.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from xai._paths import ASSETS
from xai.attacks import waveform as adv
from xai.contract import Options, Progress, Result, option
from xai.errors import InputError
from xai.local import lime
from xai.stats import wilson

__all__ = ["Case", "VeracityOptions", "VeracityResult", "SETTINGS", "PAPER", "check_clip", "run_study",
           "summarise", "rate_text", "recall_text", "load_shipped", "SPEC_EPSILON", "InputError"]

SPEC_EPSILON = 3.0  # L-infinity bound in log filter-bank units (e^3 ~ 20x power in a cell)
STEPS = 100
CONFIDENT = 0.9  # the 'confident' setting attacks until the new answer has this probability
DECOY_RATIO = 1.5  # decoy segments carry this times the energy of the loudest planted segment

SETTINGS = {
    "free": "(a) whole input, stop at the first changed answer — the paper's first experiment (Table 1)",
    "confident": f"(a) whole input, attacked until the new answer has p ≥ {CONFIDENT:g} (as the paper's song-level "
                 "stop leaves excerpts past the line)",
    "planted": "(b) planted in k segments, the rest of δ zero — the energy pick is an oracle here",
    "decoy": f"(c) planted in k segments plus a decoy (k other segments of noise with {DECOY_RATIO:g}× the energy, "
             "harmless on its own) — energy is misleading here",
}

PAPER = {
    "source": "Praher, Prinz et al., 'On the Veracity of Local, Model-agnostic Explanations in Audio "
              "Classification', ISMIR 2021, Table 1 and Fig. 2-3 (CPJKU/veracity)",
    "setting": "(a) whole input: singing-voice detector on Jamendo, adversary on the whole waveform or "
               "spectrogram, 5 time x 4 frequency segments, LIME 8192 samples, top-3 positive segments",
    "rows": [
        {"direction": "no sing -> sing", "domain": "waveform", "lime_top3_flip": 0.53},
        {"direction": "sing -> no sing", "domain": "waveform", "lime_top3_flip": 0.21},
        {"direction": "no sing -> sing", "domain": "spectrogram", "lime_top3_flip": 0.41},
        {"direction": "sing -> no sing", "domain": "spectrogram", "lime_top3_flip": 0.32},
    ],
    "energy": "norm-based selection flips more labels than LIME for every k from 1 to 20 (Fig. 2); with all "
              "positive segments: LIME 86/49 % vs norm 99/74 % (waveform), 91/44 % vs 98/55 % (spectrogram)",
    "planted": "when only 1, 3 or 5 segments carry the perturbation, LIME recovers few of them (Fig. 3)",
}


@dataclass(frozen=True)
class VeracityOptions(Options):
    """How the veracity check attacks and explains one clip (the paper's grid and LIME settings by default)."""

    k: int = option(3, low=1, high=19, help="Segments planted, and picked by each explanation.")
    n_time: int = option(5, low=2, high=20, help="Time segments of the grid (the paper: 5).")
    n_bands: int = option(4, low=1, high=16, help="Frequency bands of the grid (the paper: 4).")
    samples: int = option(1000, low=50, high=20000, help="LIME samples per explanation (the paper: 8192).")
    epsilon: float = option(SPEC_EPSILON, low=0.01, high=20.0,
                            help="Largest change of a planted cell, in log filter-bank units (3 = 20x power).")
    free_epsilon: float = option(SPEC_EPSILON / 3, low=0.01, high=20.0,
                                 help="Largest change of a cell when the whole input is attacked.")
    steps: int = option(STEPS, low=1, high=2000, help="Most sign-Adam steps per attack.")
    random_state: int = option(0, low=0, high=2**31 - 1, help="Seed of the planted segments, decoy and LIME.")


@dataclass(frozen=True)
class Case(Result):
    """One attack setting on one clip: what each pick found and whether its part of delta flips the answer."""

    setting: str
    success: bool
    original: int
    adversarial: int
    planted: list[int]
    lime_top: list[int]
    energy_top: list[int]
    lime_flip: bool | None
    energy_flip: bool | None
    lime_recall: float | None
    energy_recall: float | None
    r2: float | None
    delta_energy: list[float] = field(default_factory=list)
    lime_weights: list[float] = field(default_factory=list)
    random_top: list[int] = field(default_factory=list)
    random_flip: bool | None = None
    decoy: list[int] = field(default_factory=list)
    note: str = ""
    planted_flip: bool | None = None  # does the part of delta in the planted segments alone flip? (the oracle)

    def summary(self) -> dict:
        """The case as plain JSON (the study's rows)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class VeracityResult(Result):
    """One clip in every setting, each with LIME's picks against the energy and random baselines."""

    model: str
    classes: tuple[str, ...]
    k: int
    n_time: int
    n_bands: int
    planted: Case
    free: Case
    grid: lime.TimeBandGrid
    spectrogram: np.ndarray
    delta_planted: np.ndarray
    delta_free: np.ndarray
    decoy: Case | None = None
    confident: Case | None = None
    delta_decoy: np.ndarray | None = None
    delta_confident: np.ndarray | None = None

    def cases(self) -> dict[str, Case]:
        """The cases by setting name, in :data:`SETTINGS` order (those that were run)."""
        return {s: getattr(self, s) for s in SETTINGS if getattr(self, s) is not None}

    def summary(self) -> dict:
        """The study's JSON for this clip, class indices as names."""
        name = self.classes
        out = {"model": self.model, "k": self.k, "n_time": self.n_time, "n_bands": self.n_bands}
        for setting, c in self.cases().items():
            d = c.summary()
            d["original"], d["adversarial"] = name[c.original], name[c.adversarial]
            out[setting] = d
        return out


# --- attacks in the spectrogram domain ---------------------------------------------------------------------------


def _spec_attack(net, spec: torch.Tensor, mask: torch.Tensor, *, epsilon: float, steps: int,
                 until: float | None = None, y: int | None = None) -> tuple:
    """Untargeted sign-Adam attack on a (bands, frames) spectrogram, delta confined to ``mask`` (exact).

    Stops at the first answer other than ``y`` (default: the answer on ``spec``), or, with ``until``, once the
    new answer has at least that probability. Returns (delta, y, new answer, steps used).
    """
    with torch.no_grad():
        y = int(net.from_spectrogram(spec[None]).argmax(1)[0]) if y is None else y
    m = mask.to(spec.dtype)[None]

    def objective(s_adv):
        s = spec[None] + m * (s_adv - spec[None])
        logits = net.from_spectrogram(s)
        logp = torch.log_softmax(logits, 1)
        py = logp[:, y].exp()
        done = logits.argmax(1) != y
        if until is not None:
            done = done & (logp.max(1).values.exp() >= until)
        return -torch.log1p(-py.clamp(max=1 - 1e-6)), done

    delta, _, iters = adv.linf_sign_adam(objective, spec[None], epsilon=epsilon, steps=steps, lr=epsilon / 10,
                                         value_range=(-1e9, 1e9))
    delta = (delta * m)[0]
    with torch.no_grad():
        a = int(net.from_spectrogram((spec + delta)[None]).argmax(1)[0])
    return delta, y, a, int(iters[0])


def _answer(net, s: torch.Tensor) -> int:
    with torch.no_grad():
        return int(net.from_spectrogram(s[None]).argmax(1)[0])


def _energy(delta: torch.Tensor, idx: torch.Tensor, n: int) -> np.ndarray:
    return torch.zeros(n, dtype=torch.float64).index_add_(0, idx.reshape(-1), (delta.double() ** 2).reshape(-1)).numpy()


def _decoy(net, spec, delta_p, grid, planted, y, rng, epsilon) -> tuple[torch.Tensor, list[int], str]:
    """Random noise in k segments outside the planted ones, louder than them, that does not change the answer on
    its own (``y``) and does not undo the planted perturbation (the answer with both is still not ``y``).

    Each decoy segment gets :data:`DECOY_RATIO` times the energy of the loudest planted segment (clipped to the
    attack's bound); up to five draws, halving the ratio's excess after each draw that fails a condition.
    Returns (decoy, its segments, a note; an empty decoy when no draw qualified).
    """
    idx = torch.from_numpy(grid.index())
    target = float(_energy(delta_p, idx, grid.n_segments).max())
    others = [i for i in range(grid.n_segments) if i not in planted]
    ratio = DECOY_RATIO
    for _ in range(5):
        segs = sorted(int(i) for i in rng.choice(others, size=len(planted), replace=False))
        noise = torch.from_numpy(rng.standard_normal(tuple(spec.shape))).to(spec.dtype)
        decoy = torch.zeros_like(spec)
        for s in segs:
            cells = idx == s
            part = noise[cells]
            decoy[cells] = part * math.sqrt(ratio * target / max(float((part**2).sum()), 1e-12))
        decoy = decoy.clamp(-epsilon, epsilon)
        if _answer(net, spec + decoy) == y and _answer(net, spec + delta_p + decoy) != y:
            return decoy, segs, f"decoy energy {ratio:.2f}x the loudest planted segment"
        ratio = 1.0 + (ratio - 1.0) / 2
    return torch.zeros_like(spec), [], "every decoy drawn changed the answer by itself or undid the planted change"


# --- explaining one attack ---------------------------------------------------------------------------------------


def _case(net, spec, delta, y, a, grid, setting, opts: VeracityOptions, planted=(), decoy=(), note="") -> Case:
    """LIME on the adversarial spectrogram, the picks and their flips (see the module docstring)."""
    idx = torch.from_numpy(grid.index())
    k = opts.k
    if a == y:
        return Case(setting, False, y, a, list(planted), [], [], None, None, None, None, None, decoy=list(decoy),
                    note=note or "the attack did not change the answer within its bound")
    s_adv = spec + delta
    base = s_adv.mean()

    def score(masks):
        keep = torch.from_numpy(np.asarray(masks, dtype=bool))[:, idx]
        with torch.inference_mode():
            return torch.softmax(net.from_spectrogram(torch.where(keep, s_adv, base)), 1)[:, a].double().numpy()

    fit = lime.fit(score, grid.n_segments, samples=opts.samples, random_state=opts.random_state)
    energy = _energy(delta, idx, grid.n_segments)
    lime_top = fit.top(k)
    energy_top = [int(i) for i in np.argsort(-energy, kind="stable")[:k]]
    rng = np.random.default_rng(opts.random_state + 7919)
    random_top = sorted(int(i) for i in rng.choice(grid.n_segments, size=k, replace=False))

    def flips(ids):
        mk = torch.from_numpy(grid.mask(ids)).to(spec.dtype)
        return _answer(net, spec + delta * mk) != y

    rec = (lambda top: len(set(top) & set(planted)) / len(planted)) if planted else (lambda top: None)
    return Case(setting, True, y, a, list(planted), lime_top, energy_top, flips(lime_top), flips(energy_top),
                rec(lime_top), rec(energy_top), round(float(fit.r2), 4), [round(float(e), 6) for e in energy],
                [round(float(w), 6) for w in fit.weights], random_top, flips(random_top), list(decoy), note,
                flips(planted) if planted else None)


def check_clip(waveform, model, options: VeracityOptions | None = None, *, start_seconds: float = 0.0,
               progress: Progress | None = None, **kw) -> VeracityResult:
    """Attack one 4-s window in every setting of :data:`SETTINGS` and ask LIME where the perturbation is.

    ``options`` (or its fields as keywords: ``k=3, samples=1000, random_state=0, ...``) declare the grid, LIME and
    the attacks. Plain errors: a silent or nearly silent window, k not below the number of segments.
    """
    opts = options if options is not None else VeracityOptions(**kw)
    if not opts.k < opts.n_time * opts.n_bands:
        raise InputError(f"Choose between 1 and {opts.n_time * opts.n_bands - 1} segments to plant, not {opts.k}.")
    x = adv.window(waveform, start_seconds)
    adv.check_audible(x, what="explain")
    net = model.net
    net.eval()
    with torch.no_grad():
        spec = net.spectrogram(torch.from_numpy(x)[None])[0]
    bands, frames = spec.shape
    grid = lime.TimeBandGrid(opts.n_time, opts.n_bands, frames, bands)
    rng = np.random.default_rng(opts.random_state)
    planted = sorted(int(i) for i in rng.choice(grid.n_segments, size=opts.k, replace=False))
    cases, deltas = {}, {}

    adv._report(progress, 0.02, "(a) attacking the whole input")
    whole = torch.ones(spec.shape, dtype=torch.bool)
    d, y, a, _ = _spec_attack(net, spec, whole, epsilon=opts.free_epsilon, steps=opts.steps)
    cases["free"], deltas["free"] = _case(net, spec, d, y, a, grid, "free", opts), d
    adv._report(progress, 0.25, "(a) the whole input, past the line")
    d, y, a, _ = _spec_attack(net, spec, whole, epsilon=opts.free_epsilon, steps=opts.steps, until=CONFIDENT)
    cases["confident"], deltas["confident"] = _case(net, spec, d, y, a, grid, "confident", opts), d

    adv._report(progress, 0.5, "(b) planting the perturbation")
    mask = torch.from_numpy(grid.mask(planted))
    d, y, a, _ = _spec_attack(net, spec, mask, epsilon=opts.epsilon, steps=opts.steps)
    cases["planted"], deltas["planted"] = _case(net, spec, d, y, a, grid, "planted", opts, planted), d

    adv._report(progress, 0.75, "(c) the planted perturbation next to a decoy")
    decoy, segs, note = _decoy(net, spec, d, grid, planted, y, rng, opts.epsilon) if a != y else (
        torch.zeros_like(spec), [], "the planted attack did not change the answer")
    if not segs:  # no qualifying decoy: the case is reported as not run
        cases["decoy"] = Case("decoy", False, y, y, planted, [], [], None, None, None, None, None, note=note)
    else:  # the same planted delta as (b): its part alone flips the answer, the decoy's part alone does not
        cases["decoy"] = _case(net, spec, d + decoy, y, _answer(net, spec + d + decoy), grid, "decoy", opts,
                               planted, segs, note)
    deltas["decoy"] = d + decoy
    adv._report(progress, 1.0, "done")
    return VeracityResult(model.name, tuple(model.classes), opts.k, opts.n_time, opts.n_bands, cases["planted"],
                          cases["free"], grid, spec.numpy(), deltas["planted"].numpy(), deltas["free"].numpy(),
                          decoy=cases["decoy"], confident=cases["confident"], delta_decoy=deltas["decoy"].numpy(),
                          delta_confident=deltas["confident"].numpy())


# --- the study ---------------------------------------------------------------------------------------------------


def _rate(flags) -> dict:
    xs = [bool(x) for x in flags if x is not None]
    lo, hi = wilson(sum(xs), len(xs)) if xs else (None, None)  # no cases: no rate and no interval to show
    return {"rate": round(sum(xs) / len(xs), 4) if xs else None, "k": sum(xs), "n": len(xs), "ci95": [lo, hi]}


def rate_text(r: dict) -> str:
    """A rate from :func:`summarise` in words: '27% [14%–45%] (8 of 30)', with its Wilson 95 % interval and n."""
    if r["rate"] is None:
        return "– (n = 0)"
    lo, hi = r["ci95"]
    return f"{r['rate']:.0%} [{lo:.0%}–{hi:.0%}] ({r['k']} of {r['n']})"


def recall_text(r: float | None) -> str:
    """A recall (the share of planted segments a pick found) as a percentage, '–' where it does not apply."""
    return "–" if r is None else f"{r:.0%}"


def _mean(xs) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(float(np.mean(xs)), 4) if xs else None


def summarise(rows: list[dict], setting: str) -> dict:
    """Flip rates (with Wilson 95 % intervals and n) of LIME, energy and random picks in one setting, over clips.

    Only clips where the attack worked count (n); LIME vs energy on the same clips by an exact McNemar test
    (binomial on the discordant pairs).
    """
    cs = [r[setting] for r in rows if setting in r and r[setting]["success"]]
    pairs = [(c["lime_flip"], c["energy_flip"]) for c in cs]
    b = sum(1 for lf, ef in pairs if lf and not ef)
    c_ = sum(1 for lf, ef in pairs if ef and not lf)
    p = float(stats.binomtest(b, b + c_, 0.5).pvalue) if b + c_ else 1.0
    out = {"setting": SETTINGS[setting], "clips": len(rows), "n": len(cs),
           "attack_success": _rate([setting in r and r[setting]["success"] for r in rows]),
           "lime_flip": _rate([c["lime_flip"] for c in cs]), "energy_flip": _rate([c["energy_flip"] for c in cs]),
           "random_flip": _rate([c.get("random_flip") for c in cs]),
           "mcnemar_lime_vs_energy": {"lime_only": b, "energy_only": c_, "p": round(p, 4)},
           "mean_r2": _mean([c["r2"] for c in cs]),
           "mean_r2_lime_flip": _mean([c["r2"] for c in cs if c["lime_flip"]]),
           "mean_r2_lime_no_flip": _mean([c["r2"] for c in cs if not c["lime_flip"]])}
    if setting in ("planted", "decoy"):
        out["lime_recall"] = _mean([c["lime_recall"] for c in cs])
        out["energy_recall"] = _mean([c["energy_recall"] for c in cs])
        out["planted_flip"] = _rate([c.get("planted_flip") for c in cs])
    if setting == "decoy":
        out["lime_picks_decoy"] = _mean([len(set(c["lime_top"]) & set(c["decoy"])) / len(c["decoy"])
                                         for c in cs if c["decoy"]])
        out["no_harmless_decoy"] = sum(1 for r in rows if not r["decoy"]["success"] and not r["decoy"]["decoy"])
    return out


def run_study(clips, model, options: VeracityOptions | None = None, *, clip_ids=None, source: str = "",
              command: str = "", out_dir: Path | None = None, progress: Progress | None = None) -> dict:
    """The table over many clips: per setting, flip rates of LIME's top-k, the energy top-k and k random segments.

    ``clips`` is (N, samples) waveforms (4-s windows), ``clip_ids`` what each is (for the JSON), ``source`` where
    they come from and ``command`` how to rerun, both written into the result. Writes
    ``out_dir/veracity_<model>.json`` when ``out_dir`` is given.
    """
    opts = options or VeracityOptions()
    t0 = time.time()
    clips = np.asarray(clips, dtype=np.float32)
    ids = list(range(len(clips))) if clip_ids is None else [int(i) for i in clip_ids]
    rows = []
    for i, (j, x) in enumerate(zip(ids, clips)):
        r = check_clip(x, model, dataclasses.replace(opts, random_state=opts.random_state + j))
        rows.append({"clip": j, **r.summary()})
        adv._report(progress, (i + 1) / len(clips), f"clip {i + 1} of {len(clips)}")
    out = {"parameters": {"model": model.name, "weights_sha256": getattr(model, "weights_sha256", ""),
                          "n_clips": len(rows), **opts.to_dict(), "kernel_width": 0.25,
                          "off": "mean", "confident": CONFIDENT, "decoy_ratio": DECOY_RATIO,
                          "domain": "the model's log filter-bank (net.spectrogram / net.from_spectrogram)",
                          "clips": source, "command": command},
           "headline": "free",
           "summaries": {s: summarise(rows, s) for s in SETTINGS},
           "paper": PAPER, "clips": rows}
    out["parameters"]["seconds"] = round(time.time() - t0, 1)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"veracity_{model.name}.json").write_text(json.dumps(out, indent=1))
    return out


def load_shipped(model_name: str = "instrument", path: Path | None = None) -> dict | None:
    """The shipped study (assets/adversarial/veracity_<model>.json), or None if it is not there."""
    p = path or ASSETS / "adversarial" / f"veracity_{model_name}.json"
    return json.loads(p.read_text()) if p.exists() else None

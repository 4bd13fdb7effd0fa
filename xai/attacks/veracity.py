"""Veracity of LIME (after Praher, Prinz et al., ISMIR 2021): does LIME find where an adversarial perturbation is?

The attack works in the model's own spectrogram domain (``net.spectrogram`` -> ``net.from_spectrogram``), so a
perturbation can be confined to chosen cells of LIME's time x band grid exactly. For one clip:

1. **Planted**: the perturbation is allowed only in ``k`` randomly chosen segments (seeded) of the
   ``n_time x n_bands`` grid (:class:`xai.local.lime.TimeBandGrid`); untargeted L-infinity sign-Adam attack
   (:func:`xai.attacks.waveform.linf_sign_adam`) in log filter-bank units, stopping at the first changed answer.
2. **Free**: the same attack on the whole spectrogram (the paper's main setting).

For each successful attack LIME (:func:`xai.local.lime.fit`, 'mean' for switched-off cells, as veracity) explains the
*adversarial* prediction on the adversarial spectrogram. We report whether LIME's top-k holds the planted
segments (recall), and whether adding only LIME's top-k part of delta to the original changes the answer
("flip"), against the baseline of the k segments with the largest energy of delta (sum of delta^2).
The paper: LIME top-3 flips 21-53 %; the energy baseline always flips more.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from models import registry
from xai._paths import ASSETS
from xai.attacks import waveform as adv
from xai.audio import dataset as audio_data
from xai.contract import Progress, Result
from xai.errors import InputError
from xai.local import lime

__all__ = ["Case", "VeracityResult", "check_clip", "run_study", "load_shipped", "SPEC_EPSILON"]

SPEC_EPSILON = 3.0  # L-infinity bound in log filter-bank units (e^3 ~ 20x power in a cell)
STEPS = 100


@dataclass(frozen=True)
class Case(Result):
    """One attack setting on one clip ('planted' or 'free')."""

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

    def summary(self) -> dict:
        """The case as plain JSON (the study's rows)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class VeracityResult(Result):
    """One clip: the planted and the free attack, each with LIME's picks against the energy baseline."""

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

    def summary(self) -> dict:
        """The study's JSON for this clip, class indices as names."""
        name = self.classes
        out = {"model": self.model, "k": self.k, "n_time": self.n_time, "n_bands": self.n_bands}
        for c in (self.planted, self.free):
            d = c.summary()
            d["original"], d["adversarial"] = name[c.original], name[c.adversarial]
            out[c.setting] = d
        return out


def _spec_attack(net, spec: torch.Tensor, mask: torch.Tensor, *, epsilon: float, steps: int) -> tuple:
    """Untargeted sign-Adam attack on a (bands, frames) spectrogram, delta confined to ``mask`` (exact)."""
    with torch.no_grad():
        y = int(net.from_spectrogram(spec[None]).argmax(1)[0])
    m = mask.to(spec.dtype)[None]

    def objective(s_adv):
        s = spec[None] + m * (s_adv - spec[None])
        logits = net.from_spectrogram(s)
        logp = torch.log_softmax(logits, 1)
        py = logp[:, y].exp()
        return -torch.log1p(-py.clamp(max=1 - 1e-6)), logits.argmax(1) != y

    delta, done, iters = adv.linf_sign_adam(objective, spec[None], epsilon=epsilon, steps=steps, lr=epsilon / 10,
                                            value_range=(-1e9, 1e9))
    delta = (delta * m)[0]
    with torch.no_grad():
        a = int(net.from_spectrogram((spec + delta)[None]).argmax(1)[0])
    return delta, y, a, int(iters[0])


def _case(net, spec, delta, y, a, grid, planted, k, samples, random_state, setting) -> Case:
    idx = torch.from_numpy(grid.index())
    if a == y:
        return Case(setting, False, y, a, planted, [], [], None, None, None, None, None)
    s_adv = spec + delta
    base = s_adv.mean()

    def score(masks):
        keep = torch.from_numpy(np.asarray(masks, dtype=bool))[:, idx]
        with torch.inference_mode():
            return torch.softmax(net.from_spectrogram(torch.where(keep, s_adv, base)), 1)[:, a].double().numpy()

    fit = lime.fit(score, grid.n_segments, samples=samples, random_state=random_state)
    energy = torch.zeros(grid.n_segments, dtype=torch.float64).index_add_(
        0, idx.reshape(-1), (delta.double() ** 2).reshape(-1)).numpy()
    lime_top = fit.top(k)
    energy_top = [int(i) for i in np.argsort(-energy, kind="stable")[:k]]

    def flips(ids):
        mk = torch.from_numpy(grid.mask(ids)).to(spec.dtype)
        with torch.no_grad():
            return int(net.from_spectrogram((spec + delta * mk)[None]).argmax(1)[0]) != y

    rec = (lambda top: len(set(top) & set(planted)) / len(planted)) if planted else (lambda top: None)
    return Case(setting, True, y, a, planted, lime_top, energy_top, flips(lime_top), flips(energy_top),
                rec(lime_top), rec(energy_top), round(float(fit.r2), 4), [round(float(e), 6) for e in energy],
                [round(float(w), 6) for w in fit.weights])


def check_clip(waveform, model, *, k: int = 3, n_time: int = 5, n_bands: int = 4, samples: int = 1000,
               random_state: int = 0, epsilon: float = SPEC_EPSILON, steps: int = STEPS, start_seconds: float = 0.0,
               progress: Progress | None = None) -> VeracityResult:
    """Plant a perturbation in ``k`` random segments of one 4-s window and ask LIME; also the free attack."""
    if not 1 <= k < n_time * n_bands:
        raise InputError(f"Choose between 1 and {n_time * n_bands - 1} segments to plant, not {k}.")
    x = adv.window(waveform, start_seconds)
    if float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) < adv.SILENCE_RMS:
        raise InputError("This passage is silent; choose a start where the music sounds.")
    net = model.net
    net.eval()
    with torch.no_grad():
        spec = net.spectrogram(torch.from_numpy(x)[None])[0]
    bands, frames = spec.shape
    grid = lime.TimeBandGrid(n_time, n_bands, frames, bands)
    rng = np.random.default_rng(random_state)
    planted = sorted(int(i) for i in rng.choice(grid.n_segments, size=k, replace=False))
    adv._report(progress, 0.05, "planting the perturbation")
    mask = torch.from_numpy(grid.mask(planted))
    d_p, y, a, _ = _spec_attack(net, spec, mask, epsilon=epsilon, steps=steps)
    adv._report(progress, 0.3, "LIME on the planted attack")
    planted_case = _case(net, spec, d_p, y, a, grid, planted, k, samples, random_state, "planted")
    adv._report(progress, 0.6, "free attack")
    d_f, y, a, _ = _spec_attack(net, spec, torch.ones_like(mask), epsilon=epsilon / 3, steps=steps)
    adv._report(progress, 0.75, "LIME on the free attack")
    free_case = _case(net, spec, d_f, y, a, grid, [], k, samples, random_state, "free")
    adv._report(progress, 1.0, "done")
    return VeracityResult(model.name, tuple(model.classes), k, n_time, n_bands, planted_case, free_case, grid,
                          spec.numpy(), d_p.numpy(), d_f.numpy())


def _rate(xs) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(float(np.mean(xs)), 4) if xs else None


def run_study(*, model_name: str = "instrument", n_clips: int = 40, k: int = 3, samples: int = 1000,
              random_state: int = 0, out_dir: Path | None = None, progress: Progress | None = None,
              root=None) -> dict:
    """The table over many test clips: flip rates of LIME's top-k vs the energy top-k, recall of planted segments."""
    t0 = time.time()
    model = registry.load(model_name)
    data = audio_data.load("test", root=root)
    idx = np.unique(np.linspace(0, len(data) - 1, min(n_clips, len(data))).round().astype(int))
    rows = []
    for i, j in enumerate(idx):
        r = check_clip(data.waveform(np.array([j]))[0], model, k=k, samples=samples,
                       random_state=random_state + int(j))
        rows.append({"clip": int(j), **r.summary()})
        if progress:
            progress((i + 1) / len(idx), f"clip {j}")

    def summary(setting):
        cs = [r[setting] for r in rows if r[setting]["success"]]
        return {"n": len(cs), "attack_success_rate": round(len(cs) / len(rows), 4),
                "lime_flip_rate": _rate([c["lime_flip"] for c in cs]),
                "energy_flip_rate": _rate([c["energy_flip"] for c in cs]),
                "lime_recall": _rate([c["lime_recall"] for c in cs]),
                "energy_recall": _rate([c["energy_recall"] for c in cs]),
                "mean_r2": _rate([c["r2"] for c in cs]),
                "mean_r2_lime_flip": _rate([c["r2"] for c in cs if c["lime_flip"]]),
                "mean_r2_lime_no_flip": _rate([c["r2"] for c in cs if not c["lime_flip"]])}

    out = {"parameters": {"model": model_name, "n_clips": int(len(idx)), "k": k, "n_time": 5, "n_bands": 4,
                          "samples": samples, "kernel_width": 0.25, "off": "mean", "seed": random_state,
                          "epsilon_log_units": SPEC_EPSILON, "free_epsilon": SPEC_EPSILON / 3, "steps": STEPS,
                          "domain": "the model's log filter-bank (net.spectrogram / net.from_spectrogram)",
                          "command": f"nice -n 10 python -m xai veracity --model {model_name} --clips {n_clips} "
                                     f"--k {k} --samples {samples} --seed {random_state}"},
           "summary": summary("planted"), "summary_free": summary("free"),
           "paper": {"lime_top3_flip": "21-53 %", "energy_better": "always (every k)",
                     "source": "Praher, Prinz et al. ISMIR 2021, tables 1-2"},
           "clips": rows}
    out["parameters"]["seconds"] = round(time.time() - t0, 1)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"veracity_{model_name}.json").write_text(json.dumps(out, indent=1))
    return out


def load_shipped(model_name: str = "instrument", path: Path | None = None) -> dict | None:
    """The shipped study (assets/adversarial/veracity_<model>.json), or None if it is not there."""
    p = path or ASSETS / "adversarial" / f"veracity_{model_name}.json"
    return json.loads(p.read_text()) if p.exists() else None

"""Adversarial examples on the waveform: FGSM, PGD (L-infinity, sign-Adam) and C&W-style attacks, SNR, noise control.

The recipe follows the seed papers (Prinz & Flexer 2020 / TISMIR 2021, ``CPJKU/adversaries_in_mir``; Praher,
Prinz et al. ISMIR 2021, ``CPJKU/veracity``): a perturbation ``delta`` on the raw waveform, Adam on the *sign* of
the gradient, a box ``|delta| <= epsilon`` and a stopping rule on the prediction (label changed, or target
reached). Unlike one of the seed codebases (whose ``clamp`` was not in place, so its bound was never applied),
the bound here is applied after every step and then *checked*; a violation raises :class:`BoundViolation`.

Public building blocks (numpy or torch in, same out):

* :func:`snr_db` -- 20*log10(||x|| / ||delta||), the papers' loudness ratio of a perturbation;
* :func:`linf_sign_adam` -- the L-infinity sign-Adam loop with per-example early stopping (reused by others);
* :func:`attack_batch` -- FGSM / PGD / C&W on a batch of clips of any differentiable classifier;
* :func:`carlini_wagner` -- the C&W attack proper: least distortion subject to success, with a binary search on
  the trade-off constant (Carlini & Wagner 2017);
* :func:`attack_clip` -- one 4-s window of a recording against a registry model -> :class:`AttackResult`;
* :func:`noise_control` -- white noise at the same SNR, to see whether noise alone changes the answer.

Progress callbacks are :data:`xai.contract.Progress`, ``progress(fraction, message)``; returning ``True`` (or
raising :class:`~xai.errors.Cancelled`) stops the attack with :class:`~xai.errors.Cancelled`. Entry points take the
data first, the model (or network) second, then the options (:class:`AttackOptions`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from xai.audio.clip import to_wav_bytes
from xai.audio.frontend import band_centres_hz, hop_samples, learned_filters
from xai.contract import Options, Progress, Result, check_value, option
from xai.errors import Cancelled, InputError, ParameterError

__all__ = [
    "METHODS", "AttackOptions", "AttackResult", "BatchAttack", "BoundViolation", "Cancelled",
    "snr_db", "linf", "linf_sign_adam", "attack_batch", "attack_clip", "noise_control", "noise_at_snr",
    "multires_spectral_loss", "window", "check_options", "band_centres_hz", "hop_samples", "learned_filters",
    "spectrograms", "amplified", "to_wav", "carlini_wagner", "check_audible",
]

METHODS = ("fgsm", "pgd", "cw")
SAMPLE_RATE = 22_050
CLIP_SAMPLES = 4 * SAMPLE_RATE  # xai.audio.dataset.CLIP_SAMPLES (not imported: xai stays importable without models)
SILENCE_RMS = 1e-5  # below this RMS a window counts as silent (SNR undefined)
QUIET_DBFS = -60.0  # below this RMS level a window holds only background noise (training clips: -26 to -14 dBFS)
QUANTUM = 2.0**-15  # one step of a 16-bit recording in [-1, 1]
DECAY = 0.01  # C&W: the learning rate falls geometrically to this share of itself within each search round

class BoundViolation(AssertionError):
    """The perturbation left its L-infinity box: a bug, never a user error."""


# --- measures ---------------------------------------------------------------------------------------------------


def snr_db(x, delta, *, trim: int = 0):
    """Signal-to-noise ratio of a perturbation in dB: 20*log10(||x|| / ||delta||), per row for a batch.

    ``x`` and ``delta`` are numpy arrays or torch tensors of shape (n,) or (B, n). ``trim`` samples are ignored
    at both ends (the papers ignore 2048). A zero perturbation gives +inf; a silent ``x`` raises InputError
    because the ratio is undefined. Returns a float for one clip, a numpy array for a batch.
    """
    x = _np(x).astype(np.float64)
    d = _np(delta).astype(np.float64)
    if x.shape != d.shape:
        raise ParameterError(f"The clip and the perturbation must have the same shape, got {x.shape} and {d.shape}.")
    if trim:
        x, d = x[..., trim:-trim], d[..., trim:-trim]
    nx = np.linalg.norm(x, axis=-1)
    nd = np.linalg.norm(d, axis=-1)
    if np.any(nx <= 0):
        raise InputError("The recording is silent, so a signal-to-noise ratio is undefined; choose a passage "
                         "with sound.")
    with np.errstate(divide="ignore"):
        out = 20.0 * np.log10(nx / nd)
    return float(out) if np.ndim(out) == 0 else out


def linf(delta):
    """Largest absolute sample of a perturbation (per row for a batch)."""
    d = np.abs(_np(delta))
    out = d.max(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def noise_at_snr(x, snr, *, random_state: int = 0) -> np.ndarray:
    """White Gaussian noise scaled per row so that snr_db(x, noise) equals ``snr`` exactly."""
    x = _np(x).astype(np.float32)
    rng = np.random.default_rng(random_state)
    n = rng.standard_normal(x.shape).astype(np.float32)
    nx = np.linalg.norm(x, axis=-1, keepdims=True)
    target = nx / (10.0 ** (np.broadcast_to(np.asarray(snr, dtype=np.float64), nx.shape[:-1])[..., None] / 20.0))
    return (n * (target / np.linalg.norm(n, axis=-1, keepdims=True))).astype(np.float32)


def multires_spectral_loss(x: torch.Tensor, x_adv: torch.Tensor, *,
                           ffts: tuple[int, ...] = (2048, 1024, 512, 256, 128, 64)) -> torch.Tensor:
    """Multi-resolution STFT distance per row (L1 on linear and log magnitudes, after DDSP), as in the papers'
    Multi-Scale C&W: a perceptual stand-in for ||delta||^2."""
    out = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for n in ffts:
        w = torch.hann_window(n, device=x.device, dtype=x.dtype)
        a = torch.stft(x, n, n // 4, window=w, return_complex=True).abs()
        b = torch.stft(x_adv, n, n // 4, window=w, return_complex=True).abs()
        out = out + (a - b).abs().mean(dim=(1, 2)) + (torch.log(a + 1e-7) - torch.log(b + 1e-7)).abs().mean(dim=(1, 2))
    return out


# --- the L-infinity sign-Adam loop ------------------------------------------------------------------------------


def _check_bound(delta: torch.Tensor, epsilon: float) -> None:
    worst = float(delta.detach().abs().max()) if delta.numel() else 0.0
    if worst > float(torch.tensor(epsilon, dtype=delta.dtype)):  # epsilon as stored in delta's precision
        raise BoundViolation(f"perturbation {worst:.3g} exceeds its bound {epsilon:.3g}")


def _project(x: torch.Tensor, delta: torch.Tensor, epsilon: float, lo: float, hi: float) -> torch.Tensor:
    """Clip delta to the box and x + delta to the sample range [lo, hi]; returns a new tensor."""
    d = torch.clamp(delta, -epsilon, epsilon)
    d = torch.clamp(x + d, lo, hi) - x  # float32 rounding of x + d can overshoot epsilon by one ulp:
    return torch.clamp(d, -epsilon, epsilon)  # so the box goes last and holds exactly


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None and progress(fraction, message) is True:
        raise Cancelled("The attack was cancelled.")


def linf_sign_adam(objective: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor, *,
                   epsilon: float, steps: int, lr: float, random_start: bool = False, random_state: int = 0,
                   value_range: tuple[float, float] = (-1.0, 1.0), betas: tuple[float, float] = (0.9, 0.999),
                   progress: Progress | None = None, on_step: Callable[[int, torch.Tensor], None] | None = None):
    """Minimise ``objective`` over delta with Adam on sign gradients inside |delta| <= epsilon, per row.

    ``objective(x_adv)`` returns ``(loss, done)``: a per-row loss (B,) to minimise and a bool (B,) saying which
    rows already reached their goal *at this x_adv*. Rows that are done are frozen (their delta is kept as it
    was when they succeeded); the loop ends when all are done or after ``steps`` updates. After every update
    delta is projected onto the box (and x + delta onto ``value_range``) and the bound is checked; ``on_step``
    (step, delta) sees every projected delta (for tests and instrumentation).

    Returns ``(delta, done, iterations)``: the final perturbation (detached), the bool mask of rows done, and the
    per-row number of updates used (int64 numpy array).
    """
    lo, hi = value_range
    x = x.detach()
    if random_start:
        g = torch.Generator().manual_seed(random_state)
        delta = (torch.rand(x.shape, generator=g, dtype=x.dtype) * 2 - 1) * epsilon
    else:
        delta = torch.zeros_like(x)
    delta = _project(x, delta, epsilon, lo, hi)
    _check_bound(delta, epsilon)
    m = torch.zeros_like(x)
    v = torch.zeros_like(x)
    b1, b2 = betas
    B = x.shape[0]
    done = torch.zeros(B, dtype=torch.bool)
    iters = np.zeros(B, dtype=np.int64)
    for step in range(steps + 1):
        d = delta.clone().requires_grad_(True)
        loss, now = objective(x + d)
        done = done | now.detach().cpu().bool()
        if bool(done.all()) or step == steps:
            break
        (grad,) = torch.autograd.grad(loss.sum(), d)
        t = step + 1
        with torch.no_grad():  # in place: the update costs a few passes over (B, n), not a graph
            active = (~done).to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
            gs = torch.sign(grad).mul_(active)
            m.mul_(b1).add_(gs, alpha=1 - b1)
            v.mul_(b2).add_(gs.abs_(), alpha=1 - b2)  # sign^2 = |sign|
            denom = v.div(1 - b2**t).sqrt_().add_(1e-8)
            delta = delta.add(denom.reciprocal_().mul_(m).mul_(active), alpha=-lr / (1 - b1**t))
            delta = _project(x, delta, epsilon, lo, hi)
        _check_bound(delta, epsilon)
        iters += (~done).numpy().astype(np.int64)
        if on_step is not None:
            on_step(t, delta)
        _report(progress, t / steps, f"step {t} of {steps}: {int(done.sum())} of {B} reached the goal")
    return delta.detach(), done, iters


# --- attacks on a batch -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttackOptions(Options):
    """How to attack. ``target`` is a class index (targeted) or None (untargeted: any other class will do).

    ``epsilon`` bounds every sample of the perturbation (L-infinity, samples in [-1, 1]); ``steps`` and ``lr``
    drive the sign-Adam loop (FGSM is one step of size epsilon); ``alpha`` is C&W's first trade-off constant
    between ||delta||^2 (or the multi-resolution spectral distance if ``spectral``) and the margin term, which
    a binary search of ``search_steps`` rounds then moves (see :func:`carlini_wagner`; ``steps`` is the budget
    of all rounds together). ``random_start`` starts PGD at a uniform point in the box (seeded by
    ``random_state``). ``stop_early``: PGD stops each clip as soon as its goal is reached; C&W ignores it and
    spends its whole budget, since it keeps shrinking the perturbation after success (C&W's own early abort,
    checked every tenth of 10,000 steps, ended rounds of 40 steps while they oscillated around the goal: on the
    piano example it stopped at ||delta||_2 0.035 instead of 0.006). ``lr`` and
    ``alpha`` None take the method's defaults (:attr:`PER_METHOD`, as :meth:`for_method` does for every option).
    """

    PER_METHOD: ClassVar[dict] = {
        "fgsm": {"epsilon": 0.002, "steps": 1},
        "pgd": {"epsilon": 0.002, "steps": 50, "lr": 2e-4},
        "cw": {"epsilon": 0.01, "steps": 200, "lr": 2e-4, "alpha": 10.0},
    }

    method: str = option("pgd", choices=METHODS, help="FGSM (one step), PGD (sign-Adam) or C&W (least ||delta||^2 "
                                                      "that reaches the goal, searching the trade-off constant).")
    epsilon: float = option(0.002, low=1e-7, high=1.0,
                            help="Largest sample change (L-infinity; samples in [-1, 1]; 0.002 is about -54 dBFS).")
    target: int | None = option(None, low=0, help="Class index to reach; empty = any other class.")
    steps: int = option(50, low=1, high=5000, help="Most sign-Adam steps.")
    lr: float | None = option(None, low=1e-9, high=1.0, help="Adam learning rate (default per method).")
    alpha: float | None = option(None, low=1e-6, high=1e6, help="C&W: first trade-off constant c, the weight of "
                                                                "the class term (default 10); the search moves it.")
    search_steps: int = option(5, low=1, high=20, help="C&W: rounds of the binary search on the trade-off "
                                                      "constant (the step budget is shared among them).")
    confidence: float = option(0.0, low=0.0, high=100.0, help="C&W: logit margin kappa by which the goal must "
                                                             "be reached (0 = just over the line).")
    spectral: bool = option(False, help="C&W: multi-resolution spectral distance instead of ||delta||^2.")
    random_start: bool = option(False, help="PGD: start at a random point of the box.")
    random_state: int = option(0, low=0, high=2**31 - 1, help="Seed of the random start.")
    stop_early: bool = option(True, help="PGD: stop each clip as soon as its goal is reached (C&W spends its budget).")

    def __post_init__(self):
        """Validate: epsilon must be positive, every other option given (not None) within its declaration."""
        eps = self.epsilon
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps <= 0:
            raise ParameterError(f"The perturbation bound epsilon must be a positive number, got {eps!r}.")
        for s in self.spec():
            value = getattr(self, s["name"])
            if value is not None:
                check_value(s["name"], value, s["type"], s)

    @classmethod
    def for_method(cls, method: str, **kw) -> AttackOptions:
        """Options with the method's defaults (:attr:`PER_METHOD`), overridden by the non-None keywords."""
        if method not in METHODS:
            raise ParameterError(f"The attack method must be one of {', '.join(METHODS)}, got '{method}'.")
        base = dict(cls.PER_METHOD[method])
        base.update({k: v for k, v in kw.items() if v is not None})
        return cls(method=method, **base)

    def learning_rate(self) -> float | None:
        """The Adam learning rate used: the given one or the method's default (None for FGSM)."""
        return self.lr if self.lr is not None else self.PER_METHOD[self.method].get("lr")

    def cw_alpha(self) -> float | None:
        """The C&W weight used: the given one or the default (None for the other methods)."""
        if self.method != "cw":
            return self.alpha
        return self.alpha if self.alpha is not None else self.PER_METHOD["cw"]["alpha"]


def check_options(opt: AttackOptions, n_classes: int) -> AttackOptions:
    """Check what the declaration cannot: the target is one of the model's classes (ParameterError otherwise)."""
    if opt.target is not None and not 0 <= int(opt.target) < n_classes:
        raise ParameterError(f"The target class index must be in [0, {n_classes - 1}], got {opt.target!r}.")
    return opt


@dataclass(frozen=True)
class BatchAttack(Result):
    """The outcome of :func:`attack_batch` for B clips (numpy arrays)."""

    adversarial: np.ndarray  # (B, n) float32
    delta: np.ndarray  # (B, n) float32
    original_label: np.ndarray  # (B,) int, the model's answer on the clean clip
    adversarial_label: np.ndarray  # (B,)
    original_probs: np.ndarray  # (B, C)
    adversarial_probs: np.ndarray  # (B, C)
    target: np.ndarray | None  # (B,) or None (untargeted)
    success: np.ndarray  # (B,) bool
    iterations: np.ndarray  # (B,) int
    snr_db: np.ndarray  # (B,)
    linf: np.ndarray  # (B,)


def _goal(logits: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    pred = logits.argmax(1)
    return (pred == target) if target is not None else (pred != y)


def _fgsm(net, x, y, tgt, eps: float, value_range, on_step, progress) -> tuple[torch.Tensor, np.ndarray]:
    """One signed-gradient step of size epsilon (towards the target, or away from the label)."""
    xr = x.clone().requires_grad_(True)
    logits = net(xr)
    loss = -F.cross_entropy(logits, tgt, reduction="sum") if tgt is not None else F.cross_entropy(
        logits, y, reduction="sum")
    (g,) = torch.autograd.grad(loss, xr)
    delta = _project(x, eps * torch.sign(g), eps, *value_range).detach()
    _check_bound(delta, eps)
    if on_step is not None:
        on_step(1, delta)
    _report(progress, 1.0, "one step")
    return delta, np.ones(x.shape[0], dtype=np.int64)


def _objective(net, x, y, tgt, options: AttackOptions):
    """PGD's per-row loss (cross-entropy towards the target or away from the label), and which rows are done."""

    def objective(xa):
        logits = net(xa)
        if tgt is not None:
            loss = F.cross_entropy(logits, tgt, reduction="none")
        else:
            loss = -F.cross_entropy(logits, y, reduction="none")
        done = _goal(logits.detach(), y, tgt)
        if not options.stop_early:
            done = torch.zeros_like(done)
        return loss, done

    return objective


# --- Carlini & Wagner -------------------------------------------------------------------------------------------


def _margin(logits: torch.Tensor, y: torch.Tensor, tgt: torch.Tensor | None, kappa: float) -> torch.Tensor:
    """C&W's f6 per row: how far the logits are from the goal, floored at -kappa (<= 0 means reached).

    Targeted: max_{i != t} Z_i - Z_t; untargeted: Z_y - max_{i != y} Z_i (Carlini & Wagner 2017, eq. 6).
    """
    own = tgt if tgt is not None else y
    z_own = logits.gather(1, own[:, None])[:, 0]
    other = logits.masked_fill(F.one_hot(own, logits.shape[1]).bool(), float("-inf")).amax(1)
    gap = other - z_own if tgt is not None else z_own - other
    return torch.clamp(gap, min=-kappa)


def _round_lengths(steps: int, rounds: int) -> list[int]:
    """Share ``steps`` among ``rounds`` of the constant search (the last round takes the remainder)."""
    rounds = max(1, min(rounds, steps))
    return [steps // rounds] * (rounds - 1) + [steps - (steps // rounds) * (rounds - 1)]


def _cw_round(net: torch.nn.Module, x: torch.Tensor, w: torch.Tensor, y: torch.Tensor, tgt: torch.Tensor | None,
              c: torch.Tensor, n_steps: int, options: AttackOptions, value_range: tuple[float, float], best: dict,
              step0: int, total: int, on_step, progress: Progress | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One round of C&W at constants ``c`` (B,): normalised gradient descent on w, delta = eps * tanh(w / eps).

    Starts from ``w`` (B, n) and updates ``best`` (the least-distance successful delta per row) in place;
    returns which rows reached their goal in this round and the last w. The change of variables keeps
    |delta| < eps without clipping (Carlini & Wagner's tanh box, here around x). Each step moves w by ``lr`` in
    RMS over the clip along the gradient, the rate falling geometrically to ``DECAY`` of itself within the
    round. Why not C&W's Adam: with a few hundred steps on 88,200 samples, per-sample Adam moves every sample by
    about ``lr`` whatever its gradient (its first step *is* the sign, PGD's step), and its momentum carries the
    perturbation past the least one; on the shipped instrument model's piano example Adam stopped near PGD's
    ||delta||_2 (0.091 vs 0.095), this descent at 0.006.
    """
    eps, lo, hi = float(options.epsilon), value_range[0], value_range[1]
    lr0 = float(options.learning_rate())
    w = w.clone()
    reached = torch.zeros(x.shape[0], dtype=torch.bool)
    delta = torch.zeros_like(x)
    for t in range(n_steps):
        wg = w.clone().requires_grad_(True)
        # float32 rounding of x + delta can overshoot eps by one ulp: the box goes last, as in _project
        delta = torch.clamp(torch.clamp(x + eps * torch.tanh(wg / eps), lo, hi) - x, -eps, eps)
        xa = x + delta
        logits = net(xa)
        dist = multires_spectral_loss(x, xa) if options.spectral else (delta * delta).sum(1)
        loss = dist + c * _margin(logits, y, tgt, float(options.confidence))
        (grad,) = torch.autograd.grad(loss.sum(), wg)
        with torch.no_grad():
            d = delta.detach()
            _check_bound(d, eps)
            ok = _goal(logits.detach(), y, tgt)
            better = ok & (dist.detach() < best["dist"])
            best["delta"][better] = d[better]
            best["dist"][better] = dist.detach()[better]
            reached |= ok
            rms = grad.pow(2).mean(1, keepdim=True).sqrt().clamp_min(1e-30)
            w -= (lr0 * DECAY ** (t / max(1, n_steps - 1))) * grad / rms
        if on_step is not None:
            on_step(step0 + t + 1, d)
        _report(progress, (step0 + t + 1) / total, f"step {step0 + t + 1} of {total}: "
                f"{int(torch.isfinite(best['dist']).sum())} of {x.shape[0]} reached the goal")
    return reached, w


def carlini_wagner(x, net: torch.nn.Module, options: AttackOptions, *, labels=None, targets=None,
                   progress: Progress | None = None, on_step=None,
                   value_range: tuple[float, float] = (-1.0, 1.0)) -> BatchAttack:
    """Carlini & Wagner's attack: the least ||delta||_2 that reaches the goal, within |delta| <= epsilon.

    Minimises ``||delta||^2 + c * f(x + delta)`` with f the logit margin (C&W's f6, floored at
    ``-options.confidence``) by gradient descent on the real gradient (not its sign; see :func:`_cw_round` for
    why not Adam) under the change of variables ``delta = eps * tanh(w / eps)``. A binary search on the trade-off constant ``c`` (starting at
    ``options.alpha``, default 10) runs ``options.search_steps`` rounds from delta = 0 sharing ``options.steps``
    updates: a round that reaches the goal lowers ``c`` (halfway to the largest failing one) and the next round
    starts again from delta = 0; a round that does not raises it (halfway to the smallest succeeding one, or x10)
    and the next round continues from where it stopped. The least-distance successful delta of any
    round is returned, so C&W gives up strength for quietness where PGD stops at the first success with a
    perturbation spread over every sample at about epsilon.

    References: N. Carlini, D. Wagner, "Towards Evaluating the Robustness of Neural Networks", IEEE S&P 2017
    (sections V-VI); applied to waveforms of instrument classifiers by Prinz & Flexer 2020 (TISMIR 2021),
    whose code has no tanh change of variables and no binary search on the constant.

    Parameters
    ----------
    x : array (B, n) or (n,)
        Waveforms in [-1, 1].
    net : torch.nn.Module
        Waveform -> logits; put in eval mode.
    options : AttackOptions
        ``method`` should be "cw"; epsilon, steps, lr, alpha, search_steps, confidence, spectral.
    labels, targets, progress, on_step, value_range
        As in :func:`attack_batch`.

    Returns
    -------
    BatchAttack
        ``iterations`` counts the updates every clip went through (all rounds).
    """
    x, logits0, y, tgt = _prepare(x, net, options, labels, targets)
    B, steps = x.shape[0], int(options.steps)
    alpha = options.alpha if options.alpha is not None else AttackOptions.PER_METHOD["cw"]["alpha"]
    c = torch.full((B,), float(alpha))
    c_lo, c_hi = torch.zeros(B), torch.full((B,), math.inf)
    best = {"delta": torch.zeros_like(x), "dist": torch.full((B,), math.inf)}
    w, done = torch.zeros_like(x), 0
    for n_steps in _round_lengths(steps, int(options.search_steps)):
        reached, w = _cw_round(net, x, w, y, tgt, c, n_steps, options, value_range, best, done, steps, on_step,
                               progress)
        done += n_steps
        w = torch.where(reached[:, None], torch.zeros_like(w), w)
        c_hi = torch.where(reached, torch.minimum(c_hi, c), c_hi)
        c_lo = torch.where(reached, c_lo, torch.maximum(c_lo, c))
        c = torch.where(torch.isfinite(c_hi), (c_lo + c_hi) / 2, c * 10)
    found = torch.isfinite(best["dist"])[:, None]
    eps, (lo, hi) = float(options.epsilon), value_range
    last = torch.clamp(torch.clamp(x + eps * torch.tanh(w / eps), lo, hi) - x, -eps, eps)
    delta = torch.where(found, best["delta"], last)
    return _batch_outcome(net, x, delta, logits0, y, tgt, np.full(B, done, dtype=np.int64))


def _prepare(x, net: torch.nn.Module, options: AttackOptions, labels, targets):
    """A batch ready to attack: waveforms (B, n) as a tensor, the clean logits (net in eval mode, options checked
    against its classes), the labels to move away from and the per-clip targets (None: untargeted)."""
    x = torch.as_tensor(_np(x), dtype=torch.float32)
    x = x[None] if x.dim() == 1 else x
    net.eval()
    with torch.no_grad():
        logits0 = net(x)
    check_options(options, logits0.shape[1])
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long) if labels is not None else logits0.argmax(1)
    if targets is None and options.target is not None:
        targets = np.full(x.shape[0], int(options.target))
    tgt = torch.as_tensor(np.asarray(targets), dtype=torch.long) if targets is not None else None
    return x, logits0, y, tgt


def _batch_outcome(net, x, delta, logits0, y, tgt, iters) -> BatchAttack:
    with torch.no_grad():
        adv = x + delta
        logits1 = net(adv)
    p1 = torch.softmax(logits1, 1)
    success = _goal(logits1, y, tgt).numpy()
    xn, dn = x.numpy(), delta.numpy()
    nx = np.linalg.norm(xn.astype(np.float64), axis=1)
    nd = np.linalg.norm(dn.astype(np.float64), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(nx > 0, 20 * np.log10(nx / nd), np.nan)
    return BatchAttack(adversarial=adv.numpy(), delta=dn, original_label=logits0.argmax(1).numpy(),
                       adversarial_label=logits1.argmax(1).numpy(), original_probs=torch.softmax(logits0, 1).numpy(),
                       adversarial_probs=p1.numpy(), target=None if tgt is None else tgt.numpy(),
                       success=success, iterations=iters, snr_db=snr, linf=np.abs(dn).max(axis=1))


def attack_batch(x, net: torch.nn.Module, options: AttackOptions, *, labels=None, targets=None,
                 progress: Progress | None = None, on_step=None,
                 value_range: tuple[float, float] = (-1.0, 1.0)) -> BatchAttack:
    """Attack B waveforms ``x`` (B, n) of a classifier ``net`` (waveform -> logits), all with the same options.

    ``labels`` are the classes to move away from (default: the model's own answers on the clean clips);
    ``targets`` a class per clip for a targeted attack (default: ``options.target`` for all, or untargeted).
    The net is put in eval mode. Every step's delta satisfies |delta| <= epsilon (checked).
    """
    if options.method == "cw":  # it prepares the batch itself
        return carlini_wagner(x, net, options, labels=labels, targets=targets, progress=progress, on_step=on_step,
                              value_range=value_range)
    x, logits0, y, tgt = _prepare(x, net, options, labels, targets)
    eps = float(options.epsilon)
    if options.method == "fgsm":
        delta, iters = _fgsm(net, x, y, tgt, eps, value_range, on_step, progress)
    else:
        delta, _, iters = linf_sign_adam(_objective(net, x, y, tgt, options), x, epsilon=eps,
                                         steps=int(options.steps), lr=float(options.learning_rate()),
                                         random_start=options.random_start and options.method == "pgd",
                                         random_state=options.random_state, value_range=value_range,
                                         progress=progress, on_step=on_step)
    return _batch_outcome(net, x, delta, logits0, y, tgt, iters)


# --- one clip of a recording ------------------------------------------------------------------------------------


def window(waveform, start_seconds: float = 0.0, *, sample_rate: int = SAMPLE_RATE,
           n_samples: int = CLIP_SAMPLES) -> np.ndarray:
    """The ``n_samples`` window of a recording from ``start_seconds`` (zero-padded past its end)."""
    w = _np(waveform).astype(np.float32).reshape(-1)
    if not 0 <= start_seconds:
        raise ParameterError(f"The start must be at least 0 seconds, got {start_seconds!r}.")
    s = int(round(start_seconds * sample_rate))
    if s >= w.size:
        raise ParameterError(f"The recording is only {w.size / sample_rate:.1f} s long; choose a start before its "
                             f"end.")
    out = np.zeros(n_samples, dtype=np.float32)
    seg = w[s:s + n_samples]
    out[: seg.size] = seg
    return out


@dataclass(frozen=True)
class AttackResult(Result):
    """One attacked clip, with everything the side-by-side view needs."""

    model: str
    classes: tuple[str, ...]
    options: AttackOptions
    original: np.ndarray  # (n,) the clean 4-s window
    adversarial: np.ndarray  # (n,)
    original_probs: np.ndarray  # (C,)
    adversarial_probs: np.ndarray  # (C,)
    success: bool
    iterations: int
    snr_db: float
    linf: float
    start_seconds: float = 0.0
    sample_rate: int = SAMPLE_RATE
    noise: dict = field(default_factory=dict)  # the white-noise control, see noise_control
    note: str = ""  # a plain sentence when the answer needs one (already wrong, epsilon too small)

    @property
    def delta(self) -> np.ndarray:
        """The perturbation: adversarial minus original."""
        return self.adversarial - self.original

    @property
    def original_label(self) -> str:
        """The model's answer on the clean window."""
        return self.classes[int(np.argmax(self.original_probs))]

    @property
    def adversarial_label(self) -> str:
        """The model's answer on the attacked window."""
        return self.classes[int(np.argmax(self.adversarial_probs))]

    @property
    def target_label(self) -> str | None:
        """The class the attack aimed at, None when untargeted."""
        return None if self.options.target is None else self.classes[int(self.options.target)]

    def summary(self) -> dict:
        """The CLI's JSON: labels, success, SNR (dB), L-infinity, iterations, probabilities and options."""
        snr = self.snr_db if math.isfinite(self.snr_db) else None
        return {
            "model": self.model,
            "original": self.original_label,
            "adversarial": self.adversarial_label,
            "target": self.target_label,
            "success": bool(self.success),
            "snr_db": None if snr is None else round(snr, 3),
            "linf": float(self.linf),
            "iterations": int(self.iterations),
            "start_seconds": self.start_seconds,
            "original_probabilities": {c: round(float(p), 6) for c, p in zip(self.classes, self.original_probs)},
            "adversarial_probabilities": {c: round(float(p), 6) for c, p in zip(self.classes,
                                                                              self.adversarial_probs)},
            "noise_control": self.noise,
            "note": self.note,
            "options": self.options.to_dict(),
        }


def check_audible(x, *, what: str = "attack") -> float:
    """Refuse a window that is silent or only faint background noise (InputError); returns its level in dBFS.

    Below :data:`QUIET_DBFS` (RMS) a window holds no music the models could have learned from (their training
    clips sit at -26 to -14 dBFS), so an answer, an attack or an explanation would be about the noise floor.
    """
    rms = float(np.sqrt(np.mean(_np(x).astype(np.float64) ** 2)))
    if rms < SILENCE_RMS:
        raise InputError(f"This passage is silent, so there is nothing to {what} and the signal-to-noise ratio is "
                         "undefined; choose a start where the music sounds.")
    level = 20.0 * math.log10(rms)
    if level < QUIET_DBFS:
        raise InputError(f"This passage is nearly silent ({level:.0f} dBFS): only faint background noise, no music "
                         f"the model could recognise, so there is nothing to {what}; choose a start where the music "
                         "sounds.")
    return level


def _unchanged(model, options, x, probs, start_seconds, note) -> AttackResult:
    """The answer when no attack is needed: the clip as it is, no perturbation, and why."""
    return AttackResult(model=model.name, classes=tuple(model.classes), options=options, original=x,
                        adversarial=x.copy(), original_probs=probs, adversarial_probs=probs, success=True,
                        iterations=0, snr_db=math.inf, linf=0.0, start_seconds=float(start_seconds), note=note)


def _epsilon_note(options: AttackOptions, success: bool, answer: str) -> str:
    """A sentence for a musician when epsilon is too small to change (or to keep) anything."""
    eps = float(options.epsilon)
    level = f"ε = {eps:g} lets each sample move by at most {20 * math.log10(eps):.0f} dBFS"
    if eps < QUANTUM:
        out = (f"{level}, below the smallest step a 16-bit recording can hold ({QUANTUM:.1e}): a saved WAV would "
               "lose the change.")
        return out if success else f"{out} The model still answers '{answer}'; try a larger ε."
    if not success:
        return (f"Nothing the attack was allowed to change moved the answer: {level}, and the model still answers "
                f"'{answer}'. Try a larger ε (0.002 is about -54 dBFS) or more steps.")
    return ""


def attack_clip(waveform, model, options: AttackOptions | None = None, *, start_seconds: float = 0.0,
                progress: Progress | None = None, noise_random_state: int = 0, n_samples: int = CLIP_SAMPLES,
                true_label: int | None = None) -> AttackResult:
    """Attack the 4-s window of a recording at ``start_seconds`` against ``model`` (registry Model-like: .name,
    .net, .classes). Adds the white-noise control at the attack's SNR when the attack changed anything.

    ``options`` None = PGD with its defaults. ``true_label`` (a class index, when known): if the model already
    gets the clip wrong, an untargeted attack has nothing to do and the result says so (no perturbation;
    ``success`` True, as the papers count a misclassified clip at any epsilon); a targeted one runs with a note.
    Plain errors: epsilon <= 0, a target equal to the model's current answer, a silent or nearly silent window
    (:func:`check_audible`). An epsilon too small to change anything gives a failed result with a ``note``.
    """
    options = AttackOptions.for_method("pgd") if options is None else options
    classes = tuple(model.classes)
    check_options(options, len(classes))
    if true_label is not None and not 0 <= int(true_label) < len(classes):
        raise ParameterError(f"The true class index must be in [0, {len(classes) - 1}], got {true_label!r}.")
    x = window(waveform, start_seconds, n_samples=n_samples)
    check_audible(x)
    net = model.net
    net.eval()
    with torch.no_grad():
        probs = torch.softmax(net(torch.from_numpy(x)[None]), 1)[0].numpy()
    current = int(np.argmax(probs))
    if options.target is not None and int(options.target) == current:
        raise ParameterError(f"The model already answers '{classes[current]}'; choose another target class or "
                             f"leave the target empty to push it to any other class.")
    note = ""
    if true_label is not None and int(true_label) != current:
        note = (f"The model already gets this clip wrong: it hears '{classes[current]}', but the clip is "
                f"'{classes[int(true_label)]}'.")
        if options.target is None:
            return _unchanged(model, options, x, probs, start_seconds, note + " No change is needed for a wrong "
                              "answer, so nothing was attacked (the papers count such a clip as fooled at any ε).")
    res = attack_batch(x[None], net, options, progress=progress)
    snr = float(res.snr_db[0])
    noise = noise_control(x, net, snr, classes=classes, random_state=noise_random_state) if math.isfinite(snr) \
        else {}
    success = bool(res.success[0])
    note = " ".join(n for n in (note, _epsilon_note(options, success, classes[int(res.adversarial_label[0])])) if n)
    return AttackResult(model=model.name, classes=classes, options=options, original=x,
                        adversarial=res.adversarial[0], original_probs=res.original_probs[0],
                        adversarial_probs=res.adversarial_probs[0], success=success,
                        iterations=int(res.iterations[0]), snr_db=snr, linf=float(res.linf[0]),
                        start_seconds=float(start_seconds), noise=noise, note=note)


def noise_control(x, net: torch.nn.Module, snr: float, *, classes=None, random_state: int = 0,
                  repeats: int = 5) -> dict:
    """White noise at the given SNR added to clip ``x``, ``repeats`` draws: does noise alone change the answer?

    Returns {"snr_db", "label" (of the first draw), "probabilities" (first draw), "changed_fraction", "repeats",
    "waveform_seed"} where ``changed_fraction`` is the share of draws whose answer differs from the clean clip's
    and ``waveform_seed`` the random state of the first draw (to play it again).
    """
    x = _np(x).astype(np.float32).reshape(-1)
    noise = np.stack([noise_at_snr(x[None], snr, random_state=random_state + r)[0] for r in range(repeats)])
    net.eval()
    with torch.no_grad():
        clean = int(net(torch.from_numpy(x)[None]).argmax(1)[0])
        logits = net(torch.from_numpy(np.clip(x[None] + noise, -1, 1)))
    p = torch.softmax(logits, 1).numpy()
    labels = p.argmax(1)
    name = (lambda i: classes[int(i)]) if classes is not None else int
    return {"snr_db": round(float(snr), 3), "label": name(labels[0]),
            "probabilities": [round(float(v), 6) for v in p[0]],
            "changed_fraction": float(np.mean(labels != clean)), "repeats": repeats,
            "waveform_seed": random_state}


def spectrograms(net: torch.nn.Module, original, adversarial) -> tuple[np.ndarray, np.ndarray]:
    """The model's own log filter-bank (bands, frames) of the original and of the adversarial window."""
    net.eval()
    with torch.no_grad():
        s = net.spectrogram(torch.as_tensor(np.stack([_np(original), _np(adversarial)]), dtype=torch.float32))
    return s[0].numpy(), s[1].numpy()


def to_wav(x) -> bytes:
    """WAV bytes of a window (original, adversarial, amplified perturbation), clipped to [-1, 1] to listen to."""
    return to_wav_bytes(np.clip(_np(x).astype(np.float32), -1, 1))


def amplified(delta, peak: float = 0.5) -> np.ndarray:
    """The perturbation alone, scaled so that its loudest sample is ``peak``: to hear what was added."""
    d = _np(delta).astype(np.float32)
    m = float(np.max(np.abs(d))) if d.size else 0.0
    return d * (peak / m) if m > 0 else d

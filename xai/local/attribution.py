"""Low-level attributions with captum, summed onto the musical grid and checked for honesty.

Saliency maps over piano-roll or spectrogram pixels are what the field's contrast with concepts starts from
(Foscarin et al., ISMIR 2022; Praher et al., ISMIR 2021): they are hard for a musicologist to read, and easy to
over-read. This module computes four of captum's attributions (Kokhlikyan et al. 2020) for one class of one
input, never alone:

- :class:`captum.attr.IntegratedGradients` (Sundararajan et al., ICML 2017): the gradient integrated along a
  straight path from a *baseline* to the input; its attributions should add up to the difference of the
  model's outputs at the two ends (completeness), and the gap is reported.
- :class:`captum.attr.Saliency` (Simonyan et al., 2014): the absolute gradient at the input.
- :class:`captum.attr.Occlusion` (Zeiler & Fergus, ECCV 2014): how the output falls when a patch (11 semitones x
  a beat of the piano roll, or x 1 s of a seconds-grid roll, tiling it; 8 bands x 0.3 s of the spectrogram) is
  replaced by the baseline.
- :class:`captum.attr.LayerGradCam` (Selvaraju et al., ICCV 2017): the last convolutional block's channels
  weighted by their mean gradient, upsampled to the input with :meth:`captum.attr.LayerAttribution.interpolate`.

All four explain the class's *logit* (the model's score before the softmax), as the papers do. The pixels are
then summed onto the grid the other views use: bars x voices (or registers) of a score, the notes' cells of
each segment (:func:`xai.local.segments.segment_notes`, the same segments as LIME's), or time x frequency-band
cells of a recording's log filter-bank (:class:`xai.local.lime.TimeBandGrid`). A model that reads seconds of a
performance (``piano_composer``: 20-s windows at 10 frames a second) is explained on one of its own windows
(:func:`xai.symbolic.music.encode_for`); each note's frames (its seconds with the pedal,
:func:`xai.symbolic.music.note_seconds`) go to its segment: LIME's bar groups x voices / registers, cited
by bars and clock time where the bars are known, by clock time alone otherwise. Beside them:

- **baselines** (silence, the input's mean, a blurred copy; Sturmfels et al., Distill 2020): IG under each, with
  its completeness gap and the rank agreement of its grid with the chosen baseline's;
- **cascading randomisation** (Adebayo et al., NeurIPS 2018): the chosen method again on copies of the network
  whose top layers are re-initialised, one more layer each time; the grid must change;
- **agreement** between methods, and with LIME on the same segments, as Spearman rank correlations;
- a **deletion curve**: the class probability as each method's top segments are removed.
"""

from __future__ import annotations

import copy
import dataclasses
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from scipy.stats import rankdata

from models.audio_nets import LOG_EPS
from xai.audio.dataset import CLIP_SAMPLES, SAMPLE_RATE
from xai.audio.frontend import band_centres_hz, hop_samples
from xai.contract import Options, Progress, Result, no_progress, option, resolve_target
from xai.errors import Cancelled, InputError, ParameterError
from xai.local.core import fast, random_ranking, top_k_jaccard
from xai.local.lime import TimeBandGrid, explain_audio, sonify_cells
from xai.local.segments import NoteSegmentation, explain_piece, segment_notes, segment_piece, subset
from xai.symbolic import music
from xai.symbolic.predict import classify

__all__ = ["METHODS", "METHOD_NAMES", "BASELINES", "AttributionOptions", "Attribution", "attribute_piece",
           "attribute_audio", "spearman", "RANDOMISATION_THRESHOLD", "window_choices"]

METHODS = ("ig", "saliency", "occlusion", "gradcam")
METHOD_NAMES = {"ig": "Integrated Gradients", "saliency": "Saliency", "occlusion": "Occlusion",
                "gradcam": "Grad-CAM", "lime": "LIME", "random": "random order"}
BASELINES = ("silence", "mean", "blurred")
RANDOMISATION_THRESHOLD = 0.5  # grids still this rank-correlated after randomising the top layers "did not change"
BLUR_SIGMA = 3.0  # the blurred baseline: Gaussian, 3 semitones x 3 sixteenths (or frames), or 3 bands x 3 frames
_LIME_OFF = {"silence": "zero", "mean": "mean", "blurred": "mean"}  # LIME's nearest choice of switched-off cells


@dataclass(frozen=True)
class AttributionOptions(Options):
    """The options of an attribution: the method, its baseline, the grid it is summed onto and the checks."""

    method: str = option("ig", choices=METHODS, help="The attribution drawn and ranked (all four are compared).")
    baseline: str = option("silence", choices=BASELINES,
                           help="What 'absent' means for IG, Occlusion and the deletion of audio cells: silence, "
                                "the input's mean, or a blurred copy of it.")
    n_steps: int = option(32, low=4, high=256, help="IG: steps of the path from the baseline to the input.")
    segments: str = option("auto", choices=("auto", "bars-voices", "bars-registers"),
                           help="Scores: 'auto' = voices when the score has parts, else registers.")
    bars_per_segment: int = option(1, low=1, high=16, help="Scores: bars per segment.")
    n_registers: int = option(3, low=1, high=4, help="Scores without parts: registers (pitch bands).")
    n_time: int = option(5, low=1, high=20, help="Recordings: time segments of the 4-s window.")
    n_bands: int = option(4, low=1, high=16, help="Recordings: frequency bands.")
    top_k: int = option(3, low=1, high=50, help="How many top segments are played and compared.")
    randomised_layers: int = option(3, low=1, high=8,
                                    help="Cascading randomisation: how many layers, from the top, are re-initialised.")
    compare_lime: bool = option(True, help="Also run LIME on the same segments and compare its ranking.",
                                label="Compare with LIME")
    lime_samples: int = option(500, low=20, high=100_000, help="LIME's coalitions when there are over 12 segments.")
    random_state: int = option(0, low=0, high=2**31 - 1, help="Seed of the randomisation check and of LIME.")


def spearman(a, b) -> float:
    """Spearman's rank correlation of two vectors (ties averaged); NaN when either is constant."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    return float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])


def _ranking(v: np.ndarray) -> np.ndarray:
    return np.argsort(-np.asarray(v), kind="stable")


@dataclass(frozen=True, eq=False)
class Attribution(Result):
    """Four captum attributions of one class on one input, summed onto the musical grid, with their checks.

    ``maps`` holds each method's pixel map (pitch x sixteenths of the window, summed over the roll's onset and
    sustain channels; or bands x frames of the spectrogram); ``grid`` each method's sum per segment (the same
    segments as LIME's); ``on_notes`` the share of each map's absolute mass that lies on notes (1 for audio).
    ``completeness``: per baseline, IG's sum of attributions, the logit difference it should equal, and the gap.
    ``baseline_grid``: IG's grid under each baseline. ``agreement``: Spearman correlation between methods' grids.
    ``randomisation``: per cascade step, the randomised layer, Spearman with the original grid and the top-k
    overlap. ``deletion``: the class probability as each ranking's top-k segments are removed. ``lime``: LIME's
    weights on the same segments and its agreement with each method (empty when not asked).
    """

    kind: str  # 'bars-voices', 'bars-registers' or 'time-bands'
    model: str
    classes: tuple[str, ...]
    target: int
    method: str
    probability: float
    logit: float
    methods: tuple[str, ...]
    segments: tuple[dict, ...]
    maps: dict
    grid: dict
    on_notes: dict
    completeness: dict
    baseline_grid: dict
    agreement: np.ndarray  # (M, M) over ``methods``
    randomisation: dict
    deletion: dict
    lime: dict
    options: dict
    timings: dict
    title: str = ""
    start_bar: int = 0
    end_bar: int = 0
    start_beat: float = 0.0
    excerpt: music.Piece | None = field(default=None, repr=False)
    segmentation: NoteSegmentation | None = field(default=None, repr=False)
    start_s: float = 0.0
    waveform: np.ndarray | None = field(default=None, repr=False)
    spectrogram: np.ndarray | None = field(default=None, repr=False)
    cells: TimeBandGrid | None = None
    fps: int = 0  # frames a second of a seconds-grid model's roll; 0 = the model reads quarters
    end_s: float = 0.0
    window_label: str = ""  # a seconds window as music.Window.label cites it
    bars_known: bool = True
    bar_ticks: tuple = ()  # seconds windows: (second, bar number) of each bar start in the window, bars known
    notes_s: np.ndarray | None = field(default=None, repr=False)  # seconds windows: (n, 3) on s, off s, pitch

    @property
    def target_name(self) -> str:
        """The explained class's name."""
        return self.classes[self.target]

    @property
    def n_segments(self) -> int:
        """How many segments the pixels are summed onto."""
        return len(self.segments)

    def ranking(self, method: str | None = None) -> np.ndarray:
        """Segment ids from the largest sum of ``method`` (default the chosen one) down."""
        return _ranking(self.grid[method or self.method])

    def top(self, k: int | None = None, method: str | None = None) -> list[int]:
        """The ids of the k segments with the largest attribution (default k: the options' top_k)."""
        return [int(i) for i in self.ranking(method)[: k or self.options.get("top_k", 3)]]

    def ranked(self, method: str | None = None) -> list[dict]:
        """Every segment from the largest attribution down, with each method's sum."""
        return [dict(self.segments[i], **{m: float(self.grid[m][i]) for m in self.methods})
                for i in self.ranking(method)]

    def segment_excerpt(self, ids, *, keep: bool = True) -> music.Piece:
        """Scores: the excerpt with only the given segments (keep=True) or without them, to hear."""
        return segment_piece(self.excerpt, self.segmentation, ids, keep=keep)

    def sonify(self, ids, *, keep: bool = True) -> np.ndarray:
        """Recordings: the 4-s window with only the given cells (keep=True) or without them, to hear."""
        return sonify_cells(self.waveform, self.cells, ids, keep=keep)

    def deletion_area(self) -> dict:
        """Mean probability over each deletion curve (lower = the ranking finds what matters sooner)."""
        return {n: float(np.mean(v)) for n, v in self.deletion.items() if n != "k"}

    @property
    def randomisation_changed(self) -> bool:
        """True when the fully randomised model's grid is no longer rank-correlated above the threshold."""
        rho = self.randomisation.get("spearman", [])
        return bool(rho) and not (np.isfinite(rho[-1]) and rho[-1] >= RANDOMISATION_THRESHOLD)

    def link_options(self) -> dict:
        """The options as a share link carries them (the 'attribute' schema of :mod:`xai.classroom.share`)."""
        return {k: v for k, v in self.options.items() if k in AttributionOptions.__dataclass_fields__}

    def summary(self) -> dict:
        """The CLI's and the exports' JSON: ranked segments with every method's sum, and every check."""
        r6 = lambda v: None if not np.isfinite(v) else round(float(v), 6)  # noqa: E731
        return {
            "kind": self.kind, "model": self.model, "title": self.title, "target": self.target_name,
            "method": self.method, "probability": r6(self.probability), "logit": r6(self.logit),
            "options": self.options, "start_bar": self.start_bar, "end_bar": self.end_bar, "start_s": self.start_s,
            "segments": [{**{k: v for k, v in s.items()}, **{m: r6(s[m]) for m in self.methods}}
                         for s in self.ranked()],
            "on_notes": {m: r6(v) for m, v in self.on_notes.items()},
            "completeness": {b: {k: r6(v) for k, v in d.items()} for b, d in self.completeness.items()},
            "baselines_spearman": {b: r6(spearman(g, self.baseline_grid[self.options["baseline"]]))
                                   for b, g in self.baseline_grid.items()},
            "agreement": {a: {b: r6(self.agreement[i, j]) for j, b in enumerate(self.methods)}
                          for i, a in enumerate(self.methods)},
            "randomisation": {**{k: ([r6(x) for x in v] if k in ("spearman", "top_k_overlap") else v)
                                 for k, v in self.randomisation.items() if k != "grids"},
                              "changed": self.randomisation_changed, "threshold": RANDOMISATION_THRESHOLD},
            "lime": {k: v for k, v in self.lime.items() if k != "weights"} | (
                {"weights": [r6(x) for x in self.lime["weights"]]} if "weights" in self.lime else {}),
            "deletion": self.deletion, "deletion_mean": {n: r6(v) for n, v in self.deletion_area().items()},
            "seconds": {m: r6(v) for m, v in self.timings.items()},
        } | ({"window": self.window_label, "end_s": self.end_s, "bars_known": self.bars_known,
              "frames_per_second": self.fps} if self.fps else {})


# --------------------------------------------------------------------------------------------------------------
# the shared engine: one input tensor, a forward function, segments as an assignment matrix


class _Call(torch.nn.Module):
    """``net.<method>`` as a module, so captum (and Grad-CAM's hooks) see one forward."""

    def __init__(self, net, method: str):
        super().__init__()
        self.net, self.method = net, method

    def forward(self, x):
        return getattr(self.net, self.method)(x)


@dataclass
class _Task:
    """What the engine needs: the input, how the model reads it, the segments and how to remove them."""

    net: torch.nn.Module
    call: str  # 'forward' (piano rolls) or 'from_spectrogram'
    x: torch.Tensor  # (1, *shape)
    assign: np.ndarray  # (S, n_pixels): each segment's share of each pixel
    baselines: dict  # name -> (1, *shape) tensor
    occlusion_window: tuple
    occlusion_strides: tuple
    display: Callable[[np.ndarray], np.ndarray]  # (*shape) attribution -> the 2-D map that is drawn
    probabilities: Callable[[np.ndarray], np.ndarray]  # masks (n, S) bool -> target probability (n,)
    layer: str | None  # Grad-CAM's layer (a module name of ``net``), None when the net has no conv layer
    target: int
    probability: float = float("nan")  # of the target class on the input


def _gradcam_layer(model) -> str | None:
    """The module Grad-CAM reads: the model's last named block, else its last convolution."""
    names = dict(model.net.named_modules())
    layers = getattr(model, "layers", ())
    if layers and layers[-1] in names:
        return layers[-1]
    convs = [n for n, m in model.net.named_modules() if isinstance(m, torch.nn.Conv2d)]
    return convs[-1] if convs else None


_GRADIENT_NETS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _gradient_module(net, call: str, example: torch.Tensor) -> torch.nn.Module:
    """``net.<call>`` for input gradients: BatchNorm folded into the convolutions (``torch.fx``'s ``fuse``) and
    the weights frozen, about a fifth faster; checked once against the plain call on ``example`` (any failure or
    a difference above 1e-4 falls back to it, so attributions never depend on the folding). Cached per network."""
    plain = _Call(net, call).eval()
    try:
        store = _GRADIENT_NETS.setdefault(net, {})
    except TypeError:
        return plain
    if call not in store:
        store[call] = plain
        try:
            from torch.fx.experimental.optimization import fuse

            fused = fuse(plain)  # a folded copy; the model itself is left as it is
            fused.requires_grad_(False)
            with torch.no_grad():
                if float((fused(example) - plain(example)).abs().max()) < 1e-4:
                    store[call] = fused
        except Exception:  # noqa: BLE001 - a network torch.fx cannot trace (control flow, custom ops, its own
            pass  # errors of many types) keeps the plain call
    return store[call]


def _attribute(task: _Task, net, method: str, baseline: str, n_steps: int, *, fresh: bool = False) -> tuple[
        np.ndarray, float]:
    """One captum attribution of ``task.target``'s logit: (attribution of the input's shape, IG's delta or NaN).

    ``fresh``: ``net`` is a one-off copy (the randomisation check), asked as it is, without folding or tracing.
    """
    from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion, Saliency

    plain = _Call(net, task.call).eval()
    grad_f = plain if fresh else _gradient_module(net, task.call, task.x)
    x = task.x.clone()
    b = task.baselines[baseline]
    delta = float("nan")
    if method == "ig":
        a, d = IntegratedGradients(grad_f).attribute(x, baselines=b, target=task.target, n_steps=n_steps,
                                                     internal_batch_size=n_steps, return_convergence_delta=True)
        delta = float(d.sum())
    elif method == "saliency":
        a = Saliency(grad_f).attribute(x.requires_grad_(True), target=task.target, abs=True)
    elif method == "occlusion":  # forward passes only: the traced, frozen network (xai.local.core.fast)
        f = plain if fresh else fast(net, task.call, x.repeat(2, *([1] * (x.dim() - 1))))
        with torch.no_grad():
            a = Occlusion(f).attribute(x, sliding_window_shapes=task.occlusion_window,
                                       strides=task.occlusion_strides, baselines=b, target=task.target,
                                       perturbations_per_eval=32)
    elif method == "gradcam":  # hooks on the network's own layer: the plain call
        if task.layer is None:
            raise ParameterError("This model has no convolutional layer, so Grad-CAM cannot be computed.")
        layer = dict(net.named_modules())[task.layer]
        cam = LayerGradCam(plain, layer).attribute(x, target=task.target, relu_attributions=True)
        up = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")  # (1, 1, H, W)
        a = up.expand_as(x) / x.shape[1] if x.dim() == 4 else up[:, 0]  # a roll's two channels share the map
    else:  # pragma: no cover - AttributionOptions refuses it first
        raise ParameterError(f"Unknown attribution method {method!r}.")
    return a.detach()[0].double().numpy(), delta


def _logit(net, call: str, x: torch.Tensor, target: int) -> float:
    with torch.no_grad():
        return float(getattr(net, call)(x)[0, target])


def _randomised(net: torch.nn.Module, n_layers: int, seed: int) -> list[tuple[str, torch.nn.Module]]:
    """Cascading randomisation (Adebayo et al. 2018): copies of ``net`` with its top 1, 2, ... layers
    re-initialised (the top-level modules with weights, from the output down; the audio front end is left)."""
    tops = [n for n, m in net.named_children() if n != "front" and any(True for _ in m.parameters())][::-1]
    out, current = [], net
    for i, name in enumerate(tops[:n_layers]):
        current = copy.deepcopy(current)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1000 * (i + 1))
            for m in getattr(current, name).modules():
                if hasattr(m, "reset_parameters"):
                    m.reset_parameters()
                if hasattr(m, "reset_running_stats"):
                    m.reset_running_stats()
        current.eval().requires_grad_(False)
        out.append((name, current))
    return out


def _check(progress: Progress, fraction: float, message: str) -> None:
    if progress(fraction, message):
        raise Cancelled("Stopped.")


def _run(task: _Task, model, opts: AttributionOptions, progress: Progress) -> dict:
    """Every method, every baseline, the randomisation cascade, agreement and deletion: the result's numbers."""
    net = task.net
    net.eval()
    flat = lambda a: a.reshape(-1)  # noqa: E731
    S = task.assign.shape[0]
    on_cells = task.assign.sum(axis=0) > 0
    methods = tuple(m for m in METHODS if m != "gradcam" or task.layer is not None)
    if opts.method not in methods:
        raise ParameterError("This model has no convolutional layer, so Grad-CAM cannot be computed.")
    maps, grid, on_notes, timings = {}, {}, {}, {}
    raw = {}
    for i, m in enumerate(methods):
        _check(progress, 0.05 + 0.3 * i / len(methods), f"{METHOD_NAMES[m]}…")
        t = time.perf_counter()
        raw[m], _ = _attribute(task, net, m, opts.baseline, opts.n_steps)
        timings[m] = time.perf_counter() - t
        a = flat(raw[m])
        maps[m] = task.display(raw[m]).astype(np.float32)
        grid[m] = task.assign @ a
        total = float(np.abs(a).sum())
        on_notes[m] = float(np.abs(a[on_cells]).sum() / total) if total > 0 else float("nan")
    fx = _logit(net, task.call, task.x, task.target)
    completeness, baseline_grid = {}, {}
    for j, b in enumerate(BASELINES):
        _check(progress, 0.35 + 0.2 * j / len(BASELINES), f"Integrated Gradients from the {b} baseline…")
        a, delta = (raw["ig"], None) if b == opts.baseline else _attribute(task, net, "ig", b, opts.n_steps)
        fb = _logit(net, task.call, task.baselines[b], task.target)
        total = float(a.sum())
        completeness[b] = {"sum": total, "difference": fx - fb, "gap": total - (fx - fb),
                           "relative_gap": abs(total - (fx - fb)) / max(abs(fx - fb), 1e-12), "baseline_logit": fb}
        baseline_grid[b] = task.assign @ flat(a)
    agreement = np.array([[spearman(grid[a], grid[b]) for b in methods] for a in methods])
    layers, rhos, overlaps, grids = [], [], [], []
    k = min(opts.top_k, S)
    for j, (name, rnet) in enumerate(_randomised(net, opts.randomised_layers, opts.random_state)):
        _check(progress, 0.55 + 0.25 * j / opts.randomised_layers, f"Randomisation check: re-initialised {name}…")
        a, _ = _attribute(task, rnet, opts.method, opts.baseline, opts.n_steps, fresh=True)
        g = task.assign @ flat(a)
        layers.append(name)
        rhos.append(spearman(g, grid[opts.method]))
        overlaps.append(top_k_jaccard([_ranking(g), _ranking(grid[opts.method])], k))
        grids.append(g)
    randomisation = {"layers": layers, "spearman": rhos, "top_k_overlap": overlaps,
                     "grids": np.array(grids) if grids else np.zeros((0, S))}
    _check(progress, 0.85, "Deletion check…")
    rankings = {m: _ranking(grid[m]) for m in methods} | {"random": random_ranking(S, opts.random_state)}
    deletion = _deletion(task.probabilities, rankings, S)
    return dict(methods=methods, maps=maps, grid=grid, on_notes=on_notes, completeness=completeness,
                baseline_grid=baseline_grid, agreement=agreement, randomisation=randomisation, deletion=deletion,
                timings=timings, logit=fx)


def _deletion(probabilities, rankings: dict, S: int) -> dict:
    """The class probability as each ranking's top-k segments are removed, k = 0..S, in one batch."""
    names = list(rankings)
    masks = np.ones((len(names) * (S + 1), S), dtype=bool)
    for r, name in enumerate(names):
        for k in range(1, S + 1):
            masks[r * (S + 1) + k, np.asarray(rankings[name])[:k]] = False
    y = probabilities(masks)
    out: dict = {"k": list(range(S + 1))}
    for r, name in enumerate(names):
        out[name] = [float(v) for v in y[r * (S + 1) : (r + 1) * (S + 1)]]
    return out


def _lime_agreement(lime_result, grid: dict, methods, labels: list[str], k: int) -> dict:
    """LIME's weights on the same segments and the Spearman correlation / top-k overlap with each method."""
    by_label = {s["label"]: i for i, s in enumerate(lime_result.segments)}
    if sorted(by_label) != sorted(labels):
        return {"note": "LIME's segments differ from these; no comparison."}
    w = np.array([lime_result.fit.weights[by_label[lab]] for lab in labels])
    return {"weights": w, "spearman": {m: spearman(w, grid[m]) for m in methods},
            "top_k_overlap": {m: top_k_jaccard([_ranking(w), _ranking(grid[m])], k) for m in methods},
            "samples": int(lime_result.fit.samples), "exact": bool(lime_result.fit.exact),
            "r2": float(lime_result.fit.r2)}


def _options(values: dict) -> AttributionOptions:
    return AttributionOptions.from_dict({k: v for k, v in values.items() if v is not None})


# --------------------------------------------------------------------------------------------------------------
# scores: one window of the symbolic model, bars x voices / registers


def _window_excerpt(piece: music.Piece, model, target, start_bar) -> tuple[music.Piece, float]:
    """The excerpt the model reads in one window (``window_quarters`` from a bar line) and its start beat.

    ``start_bar`` None: the window where the model is surest of ``target`` (else of its answer for the piece).
    """
    if piece.n_notes == 0:
        raise InputError("This piece has no notes, so there is nothing to explain.")
    if start_bar is None:
        pred = classify(piece, model)
        t = resolve_target(target, model.classes) if target is not None else int(np.argmax(pred.piece_probabilities))
        p = np.nan_to_num(pred.window_probabilities[:, t], nan=-1.0)
        start = float(pred.windows[int(np.argmax(p))].start_beat)
    else:
        nums = piece.bar_numbers
        if isinstance(start_bar, bool) or not isinstance(start_bar, (int, np.integer)) or not (
                nums.min() <= start_bar <= nums.max()):
            raise ParameterError(f"The start bar must be a bar of this piece ({nums.min()}–{nums.max()}), "
                                 f"got {start_bar!r}.")
        start = piece.bar_range(int(start_bar), int(start_bar))[0]
    excerpt = piece.slice(start, start + float(model.window_quarters))
    if excerpt.n_notes == 0:
        raise InputError(f"The {model.window_quarters:g} quarters from bar {piece.bar_at(start)} have no notes, "
                         "so there is nothing to explain there.")
    return excerpt, start


def _piece_task(excerpt: music.Piece, model, seg: NoteSegmentation, opts: AttributionOptions) -> _Task:
    spq = music.STEPS_PER_QUARTER
    L = int(round(model.window_quarters * spq))
    wins = [music.Window(0, 0.0, float(model.window_quarters), 0, 0, excerpt.n_notes)]
    x = music.excerpt_rolls(music.piano_roll(excerpt, n_steps=L), wins)  # (1, 2, 88, L), as classify reads it
    rolls = np.concatenate([music.excerpt_rolls(music.piano_roll(subset(excerpt, seg.note_segment == s), n_steps=L),
                                                wins) for s in range(seg.n_segments)])  # (S, 2, 88, L)
    occupied = rolls.reshape(len(rolls), -1) > 0
    count = occupied.sum(axis=0)
    assign = (occupied / np.maximum(count, 1)).astype(np.float64)
    xt = torch.from_numpy(x)
    mean = xt.mean(dim=(2, 3), keepdim=True).expand_as(xt).contiguous()
    blurred = torch.from_numpy(gaussian_filter(x, sigma=(0, 0, BLUR_SIGMA, BLUR_SIGMA)).astype(np.float32))
    R = torch.from_numpy(rolls.reshape(len(rolls), -1))
    C = len(model.classes)
    forward = fast(model.net, "forward", torch.zeros(2, 2, music.N_PITCHES, L))

    def probabilities(masks: np.ndarray) -> np.ndarray:
        m = torch.from_numpy(np.asarray(masks, dtype=np.float32))
        X = (m @ R > 0).float().reshape(len(m), 2, music.N_PITCHES, L)
        out = np.full(len(m), 1.0 / C)  # nothing left to hear: no evidence for any class (as LIME)
        sounding = X.reshape(len(m), -1).any(dim=1).numpy()
        with torch.inference_mode():
            for i in range(0, len(m), 64):
                sel = np.flatnonzero(sounding[i : i + 64]) + i
                if sel.size:
                    p = torch.softmax(forward(X[sel]).float(), dim=1)[:, task.target].double().numpy()
                    out[sel] = p
        return out

    task = _Task(net=model.net, call="forward", x=xt, assign=assign,
                 baselines={"silence": torch.zeros_like(xt), "mean": mean, "blurred": blurred},
                 occlusion_window=(2, 11, 4), occlusion_strides=(2, 11, 4),
                 display=lambda a: a.sum(axis=0), probabilities=probabilities, layer=_gradcam_layer(model),
                 target=0)  # set by the caller once the class is known
    return task


def attribute_piece(piece: music.Piece, model, target: int | str | None = None, *, start_bar: int | None = None,
                    start_s: float | None = None, progress: Progress | None = None, **options) -> Attribution:
    """captum's four attributions for a symbolic model on one window of a score, on bars x voices (or registers).

    Parameters
    ----------
    piece : Piece
    model : a symbolic model (:class:`xai.contract.Model`), reading quarters (``window_quarters``) or seconds
        (its card's ``input``, :func:`xai.symbolic.music.input_spec`)
    target : class name or index; None = the class the model predicts for the window
    start_bar : the bar the window starts on (default: where the model is surest of the class); the window is
        the model's own (16 quarters), so the attribution is of exactly what the model reads. For a model that
        reads seconds, the window of :func:`xai.symbolic.music.encode_for` that holds the bar's start (only where
        ``piece.bars_known``)
    start_s : models that read seconds: the window of :func:`xai.symbolic.music.encode_for` that starts nearest
        this second (:func:`window_choices` lists them); refused for a model that reads quarters
    progress : the :data:`xai.contract.Progress` callback
    **options : :class:`AttributionOptions` (left out or None = the declared default)

    Returns
    -------
    Attribution
    """
    progress = progress or no_progress
    opts = _options(options)
    if target is not None:
        resolve_target(target, model.classes)
    if music.input_spec(model).grid == "seconds":
        return _attribute_seconds(piece, model, target, start_bar, start_s, opts, progress)
    if start_s is not None:
        raise ParameterError(f"The model '{model.name}' reads windows of bars: choose the window by its start bar, "
                             "not by a second.")
    excerpt, start = _window_excerpt(piece, model, target, start_bar)
    seg = segment_notes(excerpt, kind=opts.segments, bars_per_segment=opts.bars_per_segment,
                        n_registers=opts.n_registers)
    task = _piece_task(excerpt, model, seg, opts)
    with torch.no_grad():
        probs = torch.softmax(model.net.eval()(task.x).float(), dim=1)[0].numpy()
    task.target = int(np.argmax(probs)) if target is None else resolve_target(target, model.classes)
    numbers = _run(task, model, opts, progress)
    bars = [int(n) for n in excerpt.bar_numbers]
    lime = {}
    if opts.compare_lime:
        _check(progress, 0.9, "LIME on the same segments…")
        if len(bars) < 2:
            lime = {"note": "LIME over bars needs at least two bars; this window has one."}
        else:
            lr = explain_piece(excerpt, model, task.target, segments=seg.kind, start_bar=bars[0], n_bars=len(bars),
                               bars_per_segment=opts.bars_per_segment, n_registers=opts.n_registers,
                               samples=opts.lime_samples, random_state=opts.random_state, stability_seeds=1)
            lime = _lime_agreement(lr, numbers["grid"], numbers["methods"], [s["label"] for s in seg.segments],
                                   min(opts.top_k, seg.n_segments))
    progress(1.0, "Done")
    return Attribution(kind=seg.kind, model=model.name, classes=tuple(model.classes), target=task.target,
                       method=opts.method, probability=float(probs[task.target]), segments=tuple(seg.segments),
                       lime=lime, options=opts.to_dict(), title=piece.title, start_bar=bars[0], end_bar=bars[-1],
                       start_beat=float(start), excerpt=excerpt, segmentation=seg, **numbers)


# --------------------------------------------------------------------------------------------------------------
# performances: one window of a model that reads seconds, bars (or clock-time spans) x voices / registers


def window_choices(piece: music.Piece, model) -> list[music.Window]:
    """The windows ``model`` reads in ``piece`` (:func:`xai.symbolic.music.encode_for`), to choose the explained one.

    A seconds window is chosen by its ``start_second`` (``start_s`` of :func:`attribute_piece`) and cited by its
    ``label`` (bars where the piece's bars are known, clock time always for a performance).
    """
    if piece.n_notes == 0:
        raise InputError("This piece has no notes, so there is nothing to explain.")
    return music.encode_for(piece, model)[0]


def _pick_window(piece: music.Piece, model, target, start_bar, start_s) -> music.Window:
    """The seconds window to explain: the one starting nearest ``start_s``, the last one starting at or before
    bar ``start_bar`` (bars known), else the one where the model is surest of ``target`` (or of its answer)."""
    if start_s is None and start_bar is None:
        pred = classify(piece, model) if piece.n_notes else None
        if pred is None:
            raise InputError("This piece has no notes, so there is nothing to explain.")
        t = resolve_target(target, model.classes) if target is not None else int(np.argmax(pred.piece_probabilities))
        p = np.nan_to_num(pred.window_probabilities[:, t], nan=-1.0)
        return pred.windows[int(np.argmax(p))]
    wins = window_choices(piece, model)
    starts = np.array([float(w.start_second) for w in wins])
    if start_s is not None:
        last = float(wins[-1].end_second)
        if isinstance(start_s, bool) or not isinstance(start_s, (int, float, np.integer, np.floating)) or not (
                np.isfinite(start_s) and 0.0 <= start_s <= last):
            raise ParameterError(f"The window start must be a second of this performance (0–{last:.0f} s), got "
                                 f"{start_s!r}.")
        return wins[int(np.argmin(np.abs(starts - float(start_s))))]
    if not piece.bars_known:
        raise ParameterError("The bars of this performance are not known (it has no beat annotations), so its "
                             "window is chosen by its start in seconds, not by a bar.")
    nums = piece.bar_numbers
    if isinstance(start_bar, bool) or not isinstance(start_bar, (int, np.integer)) or not (
            nums.min() <= start_bar <= nums.max()):
        raise ParameterError(f"The start bar must be a bar of this piece ({nums.min()}–{nums.max()}), "
                             f"got {start_bar!r}.")
    t = float(piece.seconds(piece.bar_range(int(start_bar), int(start_bar))[0]))
    return wins[max(int(np.searchsorted(starts, t + 1e-6, side="right")) - 1, 0)]


def _window_notes(piece: music.Piece, w: music.Window) -> tuple[np.ndarray, np.ndarray]:
    """The notes that sound in a seconds window: their indices in the piece (increasing) and their (n, 4) seconds
    with the pedal (:func:`xai.symbolic.music.note_seconds`), selected exactly as the window's roll is rendered."""
    sec = music.note_seconds(piece)  # sorted by onset (stable), in the order computed here
    on = np.round(np.asarray(piece.seconds(piece.onsets), dtype=np.float64).reshape(-1), 7)
    order = np.argsort(on, kind="stable")
    s, e = float(w.start_second), float(w.end_second)
    inside = (sec[:, 1] > s) & (sec[:, 0] < e) & (sec[:, 2] >= music.PITCH_LOW) & (sec[:, 2] <= music.PITCH_HIGH)
    idx, notes = order[inside], sec[inside]
    o = np.argsort(idx, kind="stable")
    return idx[o], notes[o]


def _seconds_segments(piece: music.Piece, w: music.Window, idx: np.ndarray, notes: np.ndarray,
                      opts: AttributionOptions) -> tuple[music.Piece, NoteSegmentation, tuple]:
    """The window's notes as an excerpt on beats (held as heard, pedal included), its segments, and its bar ticks.

    The segments are LIME's (:func:`xai.local.segments.segment_notes` with the excerpt's clock offset): bar groups
    x voices / registers, cited by bars and clock time where the bars are the music's (a score, an annotated
    performance), by clock time alone where they are only the file's nominal metre. A note held into the
    window (by the pedal or from an earlier bar) starts the excerpt. Bar ticks: (second, bar number) of each
    bar start inside the window, bars known only.
    """
    s, e = float(w.start_second), float(w.end_second)
    b0 = float(w.start_beat)
    b1 = max(float(w.end_beat), b0 + 1e-6)
    grid = np.linspace(0.0, max(piece.length, b1), 4096)
    on = np.clip(piece.onsets[idx], b0, b1)
    off = np.clip(np.interp(notes[:, 1].astype(float), np.asarray(piece.seconds(grid), dtype=float), grid), b0, b1)
    excerpt = dataclasses.replace(piece.slice(b0, b1), onsets=on - b0, durations=np.maximum(off - on, 1e-3),
                                  pitches=piece.pitches[idx], velocities=piece.velocities[idx],
                                  parts=piece.parts[idx], pedal=None)
    seg = segment_notes(excerpt, kind=opts.segments, bars_per_segment=opts.bars_per_segment,
                        n_registers=opts.n_registers, clock_offset=float(piece.seconds(b0)))
    ticks: tuple = ()
    if piece.bars_known:
        bar_s = np.asarray(piece.seconds(piece.bar_starts), dtype=float)
        ticks = tuple((float(t), int(n)) for t, n in zip(bar_s, piece.bar_numbers) if s - 1e-6 <= t < e)
    return excerpt, seg, ticks


def _seconds_task(piece: music.Piece, model, w: music.Window, idx: np.ndarray, seg: NoteSegmentation) -> _Task:
    """The engine's task for one seconds window: its roll, each segment's frames, baselines and deletion.

    Every coalition of segments is rendered again from the piece's kept notes (:func:`music.window_rolls`), so
    the pedal and the onset velocities are what the model would read if those notes had not been played.
    """
    spec = music.input_spec(model)
    T, P = spec.n_steps, music.N_PITCHES
    x = music.window_rolls(piece, model, [w])  # (1, 2, 88, T): encode_for's roll of this window

    def rolls(masks: np.ndarray) -> np.ndarray:
        out = np.zeros((len(masks), 2, P, T), dtype=np.float32)
        for i, m in enumerate(np.asarray(masks, dtype=bool)):
            keep = np.zeros(piece.n_notes, dtype=bool)
            keep[idx[m[seg.note_segment]]] = True
            if keep.any():
                out[i] = music.window_rolls(piece, model, [w], keep=keep)[0]
        return out

    S = seg.n_segments
    occupied = (rolls(np.eye(S, dtype=bool)).reshape(S, -1) > 0) & (x.reshape(1, -1) > 0)
    assign = (occupied / np.maximum(occupied.sum(axis=0), 1)).astype(np.float64)
    xt = torch.from_numpy(x)
    mean = xt.mean(dim=(2, 3), keepdim=True).expand_as(xt).contiguous()
    blurred = torch.from_numpy(gaussian_filter(x, sigma=(0, 0, BLUR_SIGMA, BLUR_SIGMA)).astype(np.float32))
    C = len(model.classes)
    forward = fast(model.net, "forward", torch.zeros(2, 2, P, T))

    def probabilities(masks: np.ndarray) -> np.ndarray:
        X = torch.from_numpy(rolls(masks))
        out = np.full(len(X), 1.0 / C)  # nothing left to hear: no evidence for any class (as LIME)
        sel = np.flatnonzero(X.reshape(len(X), -1).any(dim=1).numpy())
        with torch.inference_mode():
            for i in range(0, sel.size, 64):
                j = sel[i : i + 64]
                out[j] = torch.softmax(forward(X[j]).float(), dim=1)[:, task.target].double().numpy()
        return out

    task = _Task(net=model.net, call="forward", x=xt, assign=assign,
                 baselines={"silence": torch.zeros_like(xt), "mean": mean, "blurred": blurred},
                 occlusion_window=(2, 11, spec.fps), occlusion_strides=(2, 11, spec.fps),
                 display=lambda a: a.sum(axis=0), probabilities=probabilities, layer=_gradcam_layer(model),
                 target=0)  # set by the caller once the class is known
    return task


def _seconds_lime(piece: music.Piece, model, w: music.Window, idx: np.ndarray, seg: NoteSegmentation,
                  numbers: dict, opts: AttributionOptions, target: int) -> dict:
    """LIME (:func:`xai.local.segments.explain_piece`) on the whole bars of the window, compared on these segments.

    LIME explains whole bars (its own excerpt, read as the model reads it), this window may cut bars at its edges,
    and registers are drawn from each excerpt's own notes; so LIME's weights are spread evenly over their
    segments' notes and summed onto these segments, and the rank correlations use the segments whose notes LIME
    weighed. Where LIME cannot run, a sentence says why.
    """
    starts = np.asarray(piece.bar_starts, dtype=float)
    ends = np.append(starts[1:], max(piece.length, float(starts[-1])))
    whole = [int(n) for n, a, b in zip(piece.bar_numbers, starts, ends)
             if a >= w.start_beat - 1e-6 and b <= w.end_beat + 1e-6]
    if len(whole) < 2:
        return {"note": "LIME over bars needs at least two whole bars; this window holds fewer."}
    try:
        lr = explain_piece(piece, model, target, segments=opts.segments, start_bar=whole[0], n_bars=len(whole),
                           bars_per_segment=opts.bars_per_segment, n_registers=opts.n_registers,
                           samples=opts.lime_samples, random_state=opts.random_state, stability_seeds=1)
    except InputError as err:
        return {"note": f"No comparison with LIME: {err}"}
    b0 = float(lr.start_beat)
    mine = np.flatnonzero((piece.onsets < b0 + float(lr.excerpt.end)) & (piece.onsets + piece.durations > b0))
    per_note = np.full(piece.n_notes, np.nan)
    size = np.bincount(lr.segmentation.note_segment, minlength=len(lr.segments))
    per_note[mine] = lr.fit.weights[lr.segmentation.note_segment] / size[lr.segmentation.note_segment]
    weighed = per_note[idx]
    w_seg = np.array([np.nansum(weighed[seg.note_segment == i]) if np.isfinite(weighed[seg.note_segment == i]).any()
                      else np.nan for i in range(seg.n_segments)])
    ok = np.isfinite(w_seg)
    if ok.sum() < 3:
        return {"note": f"LIME's bars ({whole[0]}–{whole[-1]}) cover too few of these segments to compare."}
    k = min(opts.top_k, int(ok.sum()))
    sub = {m: np.asarray(numbers["grid"][m])[ok] for m in numbers["methods"]}
    return {"weights": w_seg, "spearman": {m: spearman(w_seg[ok], sub[m]) for m in numbers["methods"]},
            "top_k_overlap": {m: top_k_jaccard([_ranking(w_seg[ok]), _ranking(sub[m])], k)
                              for m in numbers["methods"]},
            "samples": int(lr.fit.samples), "exact": bool(lr.fit.exact), "r2": float(lr.fit.r2),
            "compared": int(ok.sum()), "lime_bars": [whole[0], whole[-1]]}


def _attribute_seconds(piece: music.Piece, model, target, start_bar, start_s, opts: AttributionOptions,
                       progress: Progress) -> Attribution:
    """:func:`attribute_piece` for a model that reads seconds: one of its own windows, exactly as it reads it."""
    w = _pick_window(piece, model, target, start_bar, start_s)
    idx, notes = _window_notes(piece, w)
    if idx.size == 0:
        raise InputError(f"The window {w.label} has no notes, so there is nothing to explain there; choose another.")
    excerpt, seg, ticks = _seconds_segments(piece, w, idx, notes, opts)
    task = _seconds_task(piece, model, w, idx, seg)
    with torch.no_grad():
        probs = torch.softmax(model.net.eval()(task.x).float(), dim=1)[0].numpy()
    task.target = int(np.argmax(probs)) if target is None else resolve_target(target, model.classes)
    numbers = _run(task, model, opts, progress)
    lime = {}
    if opts.compare_lime:
        _check(progress, 0.9, "LIME on the same segments…")
        lime = _seconds_lime(piece, model, w, idx, seg, numbers, opts, task.target)
    progress(1.0, "Done")
    s, e = float(w.start_second), float(w.end_second)
    notes_s = np.column_stack([np.clip(notes[:, 0], s, e), np.clip(notes[:, 1], s, e), notes[:, 2]])
    return Attribution(kind=seg.kind, model=model.name, classes=tuple(model.classes), target=task.target,
                       method=opts.method, probability=float(probs[task.target]), segments=tuple(seg.segments),
                       lime=lime, options=opts.to_dict() | {"start_s": s}, title=piece.title,
                       start_bar=int(w.start_bar), end_bar=int(w.end_bar), start_beat=float(w.start_beat),
                       excerpt=excerpt, segmentation=seg, start_s=s, fps=music.input_spec(model).fps, end_s=e,
                       window_label=w.label, bars_known=bool(piece.bars_known), bar_ticks=ticks,
                       notes_s=notes_s.astype(np.float64), **numbers)


# --------------------------------------------------------------------------------------------------------------
# recordings: the 4-s window's log filter-bank, time x band cells


def _clip_window(waveform: np.ndarray, start_s: float) -> np.ndarray:
    x = np.asarray(waveform, dtype=np.float32).reshape(-1)
    s = int(round(float(start_s) * SAMPLE_RATE))
    if start_s < 0 or (x.size and s >= x.size):
        raise ParameterError(f"The window start {start_s:g} s is outside the recording ({x.size / SAMPLE_RATE:.1f} s "
                             "long).")
    out = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    seg = x[s : s + CLIP_SAMPLES]
    out[: seg.size] = seg
    if float(np.max(np.abs(out))) < 1e-3:  # -60 dBFS, as xai.audio.clip refuses silent files
        raise InputError(f"The 4-s window from {start_s:g} s is silent, so there is nothing to explain; choose "
                         "another start.")
    return out


def attribute_audio(waveform: np.ndarray, model, target: int | str | None = None, *, start_s: float = 0.0,
                    progress: Progress | None = None, **options) -> Attribution:
    """captum's four attributions for an audio model on the log filter-bank of a 4-s window, on time x band cells.

    The window (22,050 Hz, from ``start_s``) goes through the model's own front end once
    (``net.spectrogram``); the attributions are of ``net.from_spectrogram`` on that spectrogram, the space LIME's
    cells and the spectrogram attacks live in. 'silence' is the log of zero power, 'mean' the window's mean log
    energy (LIME's 'mean'), 'blurred' a Gaussian blur of 3 bands x 3 frames. Options as :func:`attribute_piece`.
    """
    progress = progress or no_progress
    opts = _options(options)
    if target is not None:
        resolve_target(target, model.classes)
    w = _clip_window(waveform, start_s)
    task, cells = _audio_task(w, model, target, start_s, opts)
    numbers = _run(task, model, opts, progress)
    lime = {}
    if opts.compare_lime:
        _check(progress, 0.9, "LIME on the same cells…")
        lr = explain_audio(w, model, task.target, n_time=opts.n_time, n_bands=opts.n_bands,
                           off=_LIME_OFF[opts.baseline], samples=opts.lime_samples, random_state=opts.random_state,
                           stability_seeds=1)
        lime = _lime_agreement(lr, numbers["grid"], numbers["methods"], [s["label"] for s in cells.segments()],
                               min(opts.top_k, cells.n_segments)) | {"off": _LIME_OFF[opts.baseline]}
    progress(1.0, "Done")
    return Attribution(kind="time-bands", model=model.name, classes=tuple(model.classes), target=task.target,
                       method=opts.method, probability=task.probability, segments=tuple(cells.segments()),
                       lime=lime, options=opts.to_dict() | {"start_s": float(start_s)}, start_s=float(start_s),
                       waveform=w, spectrogram=task.x[0].numpy(), cells=cells, **numbers)


def _audio_task(w: np.ndarray, model, target, start_s: float, opts: AttributionOptions) -> tuple[_Task, TimeBandGrid]:
    """The engine's task for a 4-s window ``w``: its spectrogram, cells, baselines and deletion."""
    net = model.net.eval()
    with torch.no_grad():
        spec = net.spectrogram(torch.from_numpy(w)[None]).float()  # (1, bands, frames)
        probs = torch.softmax(net.from_spectrogram(spec).float(), dim=1)[0].numpy()
    bands, frames = spec.shape[1:]
    if opts.n_bands > bands or opts.n_time > frames:
        raise ParameterError(f"The grid {opts.n_time} x {opts.n_bands} is finer than the spectrogram ({frames} "
                             f"frames x {bands} bands).")
    cells = TimeBandGrid(opts.n_time, opts.n_bands, frames, bands, hop_s=hop_samples(net) / SAMPLE_RATE,
                         band_hz=band_centres_hz(net), offset_s=float(start_s))
    idx = cells.index()
    assign = (idx.reshape(1, -1) == np.arange(cells.n_segments)[:, None]).astype(np.float64)
    base = {"silence": torch.full_like(spec, float(np.log(LOG_EPS))),
            "mean": spec.mean().expand_as(spec).contiguous(),
            "blurred": torch.from_numpy(gaussian_filter(spec.numpy(), sigma=(0, BLUR_SIGMA, BLUR_SIGMA)))}
    t_idx = int(np.argmax(probs)) if target is None else resolve_target(target, model.classes)
    forward = fast(net, "from_spectrogram", spec.repeat(2, 1, 1))
    off = base[opts.baseline]
    index = torch.from_numpy(idx)

    def probabilities(masks: np.ndarray) -> np.ndarray:
        keep = torch.from_numpy(np.asarray(masks, dtype=bool))[:, index]
        out = []
        with torch.inference_mode():
            for i in range(0, len(keep), 32):
                x = torch.where(keep[i : i + 32], spec, off)
                out.append(torch.softmax(forward(x).float(), dim=1)[:, t_idx].double().numpy())
        return np.concatenate(out)

    task = _Task(net=net, call="from_spectrogram", x=spec, assign=assign, baselines=base,
                 occlusion_window=(8, 13), occlusion_strides=(8, 10), display=lambda a: a,
                 probabilities=probabilities, layer=_gradcam_layer(model), target=t_idx)
    task.probability = float(probs[t_idx])
    return task, cells

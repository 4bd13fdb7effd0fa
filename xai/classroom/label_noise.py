"""The label-noise lab: how much does a style classifier lose when some training labels are wrong?

After Prinz, Flexer & Widmer (2020), "The impact of label noise on a music tagger": curated labels give the
best figures of merit, yet even heavily noisy labels carry enough information to learn. Here a chosen fraction
of the *training* labels of a small shipped subset (:mod:`models.label_noise`, split by piece) is corrupted —
``symmetric``: to any other style at random; ``class``: to a stylistically close style (:data:`CLOSE`) — a
tiny CNN is trained on them, and its accuracy is measured on held-out pieces with their true labels. The
curated (clean, noise 0) model is the reference.

:func:`train_run` does one run (a progress callback reports and can stop it); :func:`run_curves` a grid of
noise levels x kinds x seeds (the CLI job ``python -m xai label-noise`` that writes assets/label_noise/*.json).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from xai._paths import ASSETS
from xai.contract import Options, Progress, Result, option
from xai.errors import Cancelled, ParameterError

__all__ = ["CLOSE", "KINDS", "Cancelled", "LabelNoiseOptions", "RunResult", "corrupt", "train_run", "run_curves", "load_curves",
           "curve_files", "summarize"]

KINDS = ("symmetric", "class")
#: Class-dependent noise: a wrong label goes to the style a listener most easily mistakes it for.
CLOSE = {"bach": "classical", "classical": "bach", "palestrina": "monteverdi", "monteverdi": "palestrina",
         "trecento": "palestrina", "folk": "classical"}
CURVES_DIR = ASSETS / "label_noise"


@dataclass(frozen=True)
class LabelNoiseOptions(Options):
    """How the lab trains: the page's widgets, the CLI's flags and the curves document's parameters."""

    # At most 16: a live run in class must end within a minute or two on two shared cores.
    epochs: int = option(8, low=1, high=16, help="Passes over the training excerpts; fewer is faster and less "
                                                 "accurate.")
    batch: int = option(32, low=1, high=4096, help="Excerpts per training step.")
    lr: float = option(3e-3, low=0.0, high=1.0, help="Adam's learning rate.")
    width: int = option(8, low=1, high=256, help="Channels of the tiny CNN's first block.")
    n_train: int = option(1200, low=1, help="Training excerpts in the shipped subset.")


@dataclass(frozen=True)
class RunResult(Result):
    """One training run on corrupted labels, measured on clean held-out pieces."""

    kind: str
    noise: float
    seed: int
    epochs: int
    n_train: int
    n_test: int
    flipped: int  # training labels actually changed
    test_accuracy: float
    train_accuracy_noisy: float  # against the labels it was trained on
    per_class: dict = field(default_factory=dict)  # test recall per style
    seconds: float = 0.0

    def record(self) -> dict:
        """The run as one plain dict (a row of the curves document and of the page's runs)."""
        return asdict(self)


def _check(kind: str, noise: float) -> None:
    if kind not in KINDS:
        raise ParameterError(f"The noise kind must be one of {', '.join(KINDS)}, not '{kind}'.")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0.0 <= noise <= 1.0:
        raise ParameterError(f"The share of wrong labels must be between 0 and 1, got {noise!r}.")


def corrupt(y: np.ndarray, classes, kind: str, noise: float, random_state: int) -> np.ndarray:
    """A copy of ``y`` with ``round(noise * len(y))`` labels changed (a seeded choice of which).

    ``symmetric``: each chosen label becomes one of the other classes, uniformly. ``class``: it becomes its
    close style in :data:`CLOSE` (a class without one there falls back to symmetric).
    """
    _check(kind, noise)
    y = np.asarray(y).astype(np.int64)
    rng = np.random.default_rng(random_state)
    out = y.copy()
    n = int(round(noise * len(y)))
    idx = rng.choice(len(y), size=n, replace=False) if n else np.zeros(0, dtype=np.int64)
    k = len(classes)
    index = {c: i for i, c in enumerate(classes)}
    for i in idx:
        if kind == "class" and classes[y[i]] in CLOSE and CLOSE[classes[y[i]]] in index:
            out[i] = index[CLOSE[classes[y[i]]]]
        else:
            out[i] = (y[i] + rng.integers(1, k)) % k
    return out


def train_run(data: dict, *, kind: str = "symmetric", noise: float = 0.0, random_state: int = 0, epochs: int | None = None,
              n_train: int | None = None, progress: Progress | None = None, threads: int | None = 1) -> RunResult:
    """Train the tiny CNN on the subset with corrupted training labels; test on clean held-out pieces.

    ``data`` is :func:`models.label_noise.load_subset` (or the same keys, for tests). ``progress(fraction,
    message)`` is called after every batch; returning True stops the run (raises :class:`Cancelled`).
    ``n_train`` takes a seeded, class-balanced part of the training excerpts (faster runs). ``threads``: torch
    threads for the run (restored after it); one is the default because this net is too small to gain from
    more, and on a loaded machine two threads spin-wait: measured 247 s wall / 130 s CPU for 8 epochs with two
    threads against 18.5 s / 7.7 s with one, at a load average of 15 on 2 cores.
    """
    import torch

    _check(kind, noise)
    epochs = LabelNoiseOptions(**({} if epochs is None else {"epochs": epochs})).epochs
    t0 = time.perf_counter()
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _train(data, kind, noise, random_state, epochs, n_train, progress, t0)
    finally:
        torch.set_num_threads(previous_threads)


def _train(data, kind, noise, seed, epochs, n_train, progress, t0) -> RunResult:
    import torch

    from models.label_noise import TinyRollCNN, unpack

    classes = tuple(data["classes"])
    y_clean = np.asarray(data["y_train"]).astype(np.int64)
    keep = np.arange(len(y_clean))
    if n_train and n_train < len(y_clean):
        rng = np.random.default_rng(seed + 1000)
        per = max(1, n_train // len(classes))
        keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y_clean == c))[:per]
                                       for c in range(len(classes))]))
    y_clean = y_clean[keep]
    y_noisy = corrupt(y_clean, classes, kind, noise, seed)
    X = torch.from_numpy(unpack(np.asarray(data["X_train"])[keep]))
    Xt = torch.from_numpy(unpack(np.asarray(data["X_test"])))
    yt = np.asarray(data["y_test"]).astype(np.int64)
    yn = torch.from_numpy(y_noisy)

    torch.manual_seed(seed)
    defaults = LabelNoiseOptions()
    net = TinyRollCNN(len(classes), width=defaults.width)
    opt = torch.optim.Adam(net.parameters(), lr=defaults.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    bs = defaults.batch
    n_batches = (len(yn) + bs - 1) // bs
    total = epochs * n_batches + 1
    step = 0
    for ep in range(epochs):
        net.train()
        order = torch.randperm(len(yn), generator=gen)
        for b in range(n_batches):
            idx = order[b * bs:(b + 1) * bs]
            loss = torch.nn.functional.cross_entropy(net(X[idx]), yn[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if progress is not None and progress(step / total, f"Epoch {ep + 1} of {epochs}"):
                raise Cancelled("The training run was stopped before it finished.")
        sched.step()
    net.eval()
    with torch.no_grad():
        pred_t = torch.cat([net(Xt[i:i + 256]).argmax(1) for i in range(0, len(Xt), 256)]).numpy()
        pred_tr = torch.cat([net(X[i:i + 256]).argmax(1) for i in range(0, len(X), 256)]).numpy()
    if progress is not None:
        progress(1.0, "Done")
    per_class = {c: float(np.mean(pred_t[yt == i] == i)) if np.any(yt == i) else float("nan")
                 for i, c in enumerate(classes)}
    return RunResult(kind=kind, noise=float(noise), seed=int(seed), epochs=int(epochs), n_train=int(len(yn)),
                     n_test=int(len(yt)), flipped=int(np.sum(y_noisy != y_clean)),
                     test_accuracy=float(np.mean(pred_t == yt)),
                     train_accuracy_noisy=float(np.mean(pred_tr == y_noisy)), per_class=per_class,
                     seconds=round(time.perf_counter() - t0, 2))


def run_curves(data: dict, *, noises=(0.0, 0.2, 0.4, 0.6, 0.8), kinds=KINDS, seeds=(0, 1),
               epochs: int | None = None, progress: Progress | None = None, threads: int = 1) -> dict:
    """Every (kind, noise, seed) run; returns the curves document (parameters + runs + summary).

    ``progress(fraction, message)`` hears after every run (its return value is ignored: the job runs to the end).
    """
    runs = []
    t0 = time.perf_counter()
    clean: dict[int, dict] = {}  # noise 0 is the same run for every kind: trained once per seed
    for kind in kinds:
        for noise in noises:
            for seed in seeds:
                if noise == 0 and seed in clean:
                    runs.append({**clean[seed], "kind": kind})
                    continue
                r = train_run(data, kind=kind, noise=float(noise), random_state=int(seed), epochs=epochs,
                              threads=threads)
                runs.append(r.record())
                if noise == 0:
                    clean[seed] = r.record()
                if progress:
                    progress(len(runs) / (len(kinds) * len(noises) * len(seeds)), f"{kind} noise {noise:.1f} seed {seed}: test accuracy {r.test_accuracy:.3f} "
                             f"({r.seconds:.0f} s)")
    meta = data.get("meta", {})
    doc = {"format": "musicxai.label_noise", "version": 1,
           "parameters": {"noises": [float(n) for n in noises], "kinds": list(kinds), "seeds": [int(s) for s in seeds],
                          "epochs": epochs or LabelNoiseOptions().epochs,
                          **{k: v for k, v in LabelNoiseOptions().to_dict().items() if k != "epochs"},
                          "close_styles": CLOSE, "classes": list(data["classes"]),
                          "data": {k: v for k, v in meta.items() if k != "piece_ids"},
                          "model": "models.label_noise.TinyRollCNN"},
           "runs": runs, "seconds": round(time.perf_counter() - t0, 1)}
    doc["summary"] = summarize(doc)
    return doc


def summarize(doc: dict) -> list[dict]:
    """Mean and spread of test accuracy per (kind, noise) over seeds."""
    groups: dict[tuple, list[float]] = {}
    for r in doc["runs"]:
        groups.setdefault((r["kind"], r["noise"]), []).append(r["test_accuracy"])
    return [{"kind": k, "noise": n, "mean": float(np.mean(v)), "min": float(np.min(v)), "max": float(np.max(v)),
             "n_seeds": len(v)} for (k, n), v in sorted(groups.items())]


def curve_files(directory: Path = CURVES_DIR) -> list[Path]:
    """The shipped precomputed curves (every ``curves_*.json``)."""
    return sorted(directory.glob("curves_*.json"))


def load_curves(path: Path) -> dict:
    """A curves document, checked; ParameterError with a plain sentence if it is not one."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ParameterError(f"The label-noise curves {Path(path).name} cannot be read.") from e
    if not isinstance(doc, dict) or doc.get("format") != "musicxai.label_noise" or doc.get("version") != 1:
        raise ParameterError(f"{Path(path).name} is not a label-noise curves file of this version.")
    return doc

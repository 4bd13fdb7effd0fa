"""Train the shipped models from scratch: ``python -m training.train composer``.

Reproduces ``assets/models/composer.safetensors`` and its model card on 2 CPU cores: the corpus parse is
cached (``python -m training.data build``, about 5-10 minutes cold) and training takes the rest. Every
parameter of the run is written into the card beside the results, so a run can be compared with another.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from models import nets
from models.registry import ASSETS
from training import baseline
from training.evaluation import metrics, piece_level
from xai.symbolic import dataset as data
from xai.symbolic import music

DEFAULTS = {
    "seed": data.SEED,
    "width": 24,
    "epochs": 16,
    "batch_size": 64,
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "train_hop": 4,
    "eval_hop": music.HOP_QUARTERS,
    "train_cap_per_class": 2000,
    "val_cap_per_class": 400,
    "min_notes": 4,
    "transpose": 3,
    "threads": 2,
}


def transpose_batch(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Shift each roll in a batch along the pitch axis by its own number of semitones, filling with silence."""
    out = torch.zeros_like(x)
    P = x.shape[2]
    for s in shifts.unique().tolist():
        idx = (shifts == s).nonzero(as_tuple=True)[0]
        if s > 0:
            out[idx, :, s:] = x[idx, :, : P - s]
        elif s < 0:
            out[idx, :, : P + s] = x[idx, :, -s:]
        else:
            out[idx] = x[idx]
    return out






def predict_probs(net: nn.Module, X: np.ndarray, batch: int = 256) -> np.ndarray:
    """Softmax probabilities of a network for windows X, in batches."""
    net.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(X), batch):
            out.append(torch.softmax(net(torch.from_numpy(X[i : i + batch].astype(np.float32))), 1).numpy())
    return np.concatenate(out)


def train_composer(params: dict, *, out_dir: Path = ASSETS, name: str = "composer", progress=print) -> dict:
    """Train the piano-roll CNN and its baseline on the corpus split, evaluate, and write weights + card."""
    t_start = time.time()
    torch.manual_seed(params["seed"])
    np.random.seed(params["seed"])
    torch.set_num_threads(params["threads"])
    table = data.build(progress=progress)
    sp = data.split(table, random_state=params["seed"])
    progress(f"pieces: { {k: int(v.size) for k, v in sp.items()} }")
    sets = _window_sets(table, sp, params, progress)
    net, history, best_epoch = _fit(sets, params, progress)
    train_seconds = time.time() - t_start
    test = _test(net, sets, params)

    out_dir.mkdir(parents=True, exist_ok=True)
    wpath = out_dir / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(wpath))
    card = _composer_card(name, net, params, sp, sets, test, [table.ids[i] for i in sp["test"]])
    card["training"] = {"params": params, "history": history, "best_epoch": best_epoch,
                        "seconds": round(train_seconds, 1), "torch": torch.__version__,
                        "python": platform.python_version(),
                        "machine": f"{platform.machine()}, {params['threads']} threads"}
    card["reproduce"] = "python -m training.train composer"
    card["weights_sha256"] = hashlib.sha256(wpath.read_bytes()).hexdigest()
    (out_dir / f"{name}.json").write_text(json.dumps(card, indent=1))
    (out_dir / f"{name}.md").write_text(model_card_markdown(card))
    progress(f"test piece accuracy {card['metrics']['test']['piece_accuracy']} "
             f"(baseline {card['baseline']['test']['piece_accuracy']}); {train_seconds:.0f} s")
    return card


def _window_sets(table, sp: dict, params: dict, progress) -> dict:
    """The training (with baseline features), validation and test windows of the split."""
    t0 = time.time()
    Xtr, ytr, ptr, Ftr = data.window_set(
        table, sp["train"], hop=params["train_hop"], cap_per_class=params["train_cap_per_class"],
        min_notes=params["min_notes"], random_state=params["seed"], features=baseline.window_features,
    )
    Xva, yva, pva = data.window_set(
        table, sp["val"], hop=params["eval_hop"], cap_per_class=params["val_cap_per_class"],
        min_notes=params["min_notes"], random_state=params["seed"],
    )
    Xte, yte, pte, Fte = data.window_set(
        table, sp["test"], hop=params["eval_hop"], min_notes=params["min_notes"], features=baseline.window_features
    )
    progress(f"windows train {len(ytr)} val {len(yva)} test {len(yte)} ({time.time() - t0:.0f} s)")
    progress(f"train windows per class: {dict(zip(data.CLASSES, np.bincount(ytr, minlength=len(data.CLASSES)).tolist()))}")
    return {"Xtr": Xtr, "ytr": ytr, "Ftr": Ftr, "Xva": Xva, "yva": yva, "pva": pva, "Xte": Xte, "yte": yte,
            "pte": pte, "Fte": Fte}


def _fit(sets: dict, params: dict, progress) -> tuple[nn.Module, list[dict], int]:
    """Train the CNN; keep the weights of the epoch best on validation. Returns (net, history, best epoch)."""
    classes = data.CLASSES
    Xtr, ytr = sets["Xtr"], sets["ytr"]
    counts = np.bincount(ytr, minlength=len(classes))
    net = nets.PianoRollCNN(len(classes), width=params["width"]).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=params["lr"], weight_decay=params["weight_decay"])
    steps_per_epoch = int(np.ceil(len(ytr) / params["batch_size"]))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=params["lr"], total_steps=params["epochs"] * steps_per_epoch)
    weight = torch.tensor(counts.sum() / (len(classes) * np.maximum(counts, 1)), dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    gen = torch.Generator().manual_seed(params["seed"])
    Xtr_t = torch.from_numpy(Xtr)
    ytr_t = torch.from_numpy(ytr)
    best = (-1.0, None, -1)
    history = []
    for epoch in range(params["epochs"]):
        net.train()
        t_ep = time.time()
        perm = torch.randperm(len(ytr), generator=gen)
        total = 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * params["batch_size"] : (b + 1) * params["batch_size"]]
            xb = Xtr_t[idx].float()
            shifts = torch.randint(-params["transpose"], params["transpose"] + 1, (len(idx),), generator=gen)
            xb = transpose_batch(xb, shifts).contiguous(memory_format=torch.channels_last)
            loss = loss_fn(net(xb), ytr_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        win_acc, piece_bal = _validate(net, sets)
        history.append({"epoch": epoch, "loss": round(total / len(ytr), 4), "val_window_acc": round(win_acc, 4),
                        "val_piece_bal_acc": round(piece_bal, 4), "seconds": round(time.time() - t_ep, 1)})
        progress(f"epoch {epoch}: {history[-1]}")
        score = piece_bal + win_acc  # select on validation only
        if score > best[0]:
            best = (score, {k: v.detach().clone() for k, v in net.state_dict().items()}, epoch)
    net.load_state_dict(best[1])
    return net, history, best[2]


def _validate(net: nn.Module, sets: dict) -> tuple[float, float]:
    """(window accuracy, class-balanced piece accuracy) on the validation windows."""
    pv = predict_probs(net, sets["Xva"])
    win_acc = float(np.mean(pv.argmax(1) == sets["yva"]))
    pp, pt, _ = piece_level(pv, sets["pva"], sets["yva"])
    return win_acc, float(np.mean([np.mean(pp[pt == c] == c) for c in np.unique(pt)]))


def _test(net: nn.Module, sets: dict, params: dict) -> dict:
    """Test windows and pieces, model and baseline, on exactly the same windows."""
    yte, pte = sets["yte"], sets["pte"]
    pt_probs = predict_probs(net, sets["Xte"])
    ppred, ptrue, _ = piece_level(pt_probs, pte, yte)
    clf = baseline.fit(sets["Ftr"], sets["ytr"], seed=params["seed"])
    b_probs = clf.predict_proba(sets["Fte"])
    bpp, bpt, _ = piece_level(b_probs, pte, yte)
    return {"win_pred": pt_probs.argmax(1), "ppred": ppred, "ptrue": ptrue, "b_win_pred": b_probs.argmax(1),
            "bpp": bpp, "bpt": bpt}


def _composer_card(name: str, net: nn.Module, params: dict, sp: dict, sets: dict, test: dict,
                   test_ids: list) -> dict:
    """The model card's description, split and test metrics (training details are added by the caller)."""
    classes, yte = data.CLASSES, sets["yte"]
    return {
        "name": name,
        "title": "Style classifier: piano-roll CNN",
        "classes": list(classes),
        "architecture": {
            "type": "PianoRollCNN", "width": params["width"], "layers": list(nets.LAYERS),
            "default_layer": nets.DEFAULT_LAYER, "parameters": int(sum(p.numel() for p in net.parameters())),
        },
        "input": {"window_quarters": music.WINDOW_QUARTERS, "hop_quarters": music.HOP_QUARTERS,
                  "steps_per_quarter": music.STEPS_PER_QUARTER, "pitch_low": music.PITCH_LOW,
                  "pitch_high": music.PITCH_HIGH, "channels": ["onset", "sustain"]},
        "data": (
            "music21 corpus (ships with music21 10.5.1): bach = chorales; palestrina = 200 mass movements "
            "(seeded sample); monteverdi = madrigals; trecento = all; classical = Beethoven, Mozart, Haydn "
            "string-quartet movements; folk = 300 tunes of Ryan's Mammoth Collection + Essen kinder0, dva0, erk5."
        ),
        "split": {
            "method": "by piece (a movement or tune), per class, seeded permutation 70/15/15",
            "seed": params["seed"],
            "pieces": {k: int(v.size) for k, v in sp.items()},
            "windows": {"train": int(len(sets["ytr"])), "val": int(len(sets["yva"])), "test": int(len(yte))},
            "test_pieces": test_ids,
        },
        "metrics": {"test": {
            "window_accuracy": round(float(np.mean(test["win_pred"] == yte)), 4),
            "piece_accuracy": metrics(test["ppred"], test["ptrue"], classes)["accuracy"],
            "piece": metrics(test["ppred"], test["ptrue"], classes),
            "window": metrics(test["win_pred"], yte, classes),
        }},
        "baseline": {
            "description": "pitch-class + melodic/harmonic interval histograms, logistic regression, same windows",
            "test": {
                "window_accuracy": round(float(np.mean(test["b_win_pred"] == yte)), 4),
                "piece_accuracy": metrics(test["bpp"], test["bpt"], classes)["accuracy"],
                "piece": metrics(test["bpp"], test["bpt"], classes),
            },
        },
        "confounds": [
            "folk is monophonic (one melodic line) while every other class is polyphonic: texture alone separates it.",
            "bach is almost all four-part chorales, so 'bach' means 'Bach chorale', not Bach's music in general.",
            "classical comes from only 46 quartet movements of 3 composers; movements of one quartet may share "
            "keys and material across the split.",
            "palestrina mass movements of the same mass can fall in different splits.",
        ],
    }


def model_card_markdown(card: dict) -> str:
    """A human-readable model card from the JSON card."""
    m, b = card["metrics"]["test"], card["baseline"]["test"]
    cls = card["classes"]
    lines = [
        f"# Model card: {card['title']} (`{card['name']}`)", "",
        "## Data", card["data"], "",
        f"Split: {card['split']['method']} (seed {card['split']['seed']}). Pieces: {card['split']['pieces']}. "
        f"Windows: {card['split']['windows']}. The test pieces are listed in `{card['name']}.json`.", "",
        "## Input and network",
        f"{card['input']['window_quarters']}-quarter excerpts starting on bar lines, "
        f"{card['input']['steps_per_quarter']} steps per quarter, MIDI pitches {card['input']['pitch_low']}-"
        f"{card['input']['pitch_high']}, onset + sustain channels. Residual CNN, "
        f"{card['architecture']['parameters']:,} parameters, ReLU blocks {', '.join(card['architecture']['layers'])}.", "",
        "## Measured on the held-out test pieces", "",
        "| | model | baseline |", "|---|---|---|",
        f"| piece accuracy | {m['piece_accuracy']:.3f} | {b['piece_accuracy']:.3f} |",
        f"| piece balanced accuracy | {m['piece']['balanced_accuracy']:.3f} | {b['piece']['balanced_accuracy']:.3f} |",
        f"| window accuracy | {m['window_accuracy']:.3f} | {b['window_accuracy']:.3f} |", "",
        "Per-class F1 (pieces): " + ", ".join(f"{c} {v:.2f}" for c, v in m["piece"]["per_class_f1"].items()), "",
        "Confusion matrix (pieces; rows true, columns predicted):", "",
        "| true \\ pred | " + " | ".join(cls) + " |", "|---" * (len(cls) + 1) + "|",
        *[f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(cls, m["piece"]["confusion"])], "",
        f"Baseline: {card['baseline']['description']}.", "",
        "## Confounds to keep in mind", *[f"- {c}" for c in card["confounds"]], "",
        "## Reproduce", f"`{card['reproduce']}` (training took {card['training']['seconds']:.0f} s on "
        f"{card['training']['machine']}; best epoch {card['training']['best_epoch']}; torch {card['training']['torch']}).", "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    """Train a symbolic model (command line)."""
    from training import train_audio  # the audio models have their own module and options

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in train_audio.NAMES:
        return train_audio.main(argv)
    ap = argparse.ArgumentParser(prog="python -m training.train")
    ap.add_argument("model", choices=["composer", *train_audio.NAMES])
    for k, v in DEFAULTS.items():
        ap.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=v)
    ap.add_argument("--out-dir", type=Path, default=ASSETS)
    args = ap.parse_args(argv)
    params = {k: getattr(args, k) for k in DEFAULTS}
    train_composer(params, out_dir=args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

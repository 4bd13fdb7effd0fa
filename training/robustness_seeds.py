"""Train the style models again with other seeds, for the robustness study over training runs.

``python -m training.robustness_seeds --seeds 1,2`` trains, for each seed k, the three style models
(``style_audio``, ``style_midlevel``, ``style_adversarial``) with the shipped models' own parameters (read from
their cards) and ``seed`` + k, on the same rendered clips, and writes weights and cards to
``assets/adversarial/seeds/seed<k>/`` (the adversarial model starts from that seed's ``style_audio``, as the
shipped one starts from the shipped ``style_audio``). Seed 0 is the shipped models themselves.
``python -m xai robustness-seeds`` then attacks every replica on the same test clips
(:func:`xai.attacks.robustness.seed_study`).

One training run per model kind says nothing about how much of a difference between kinds is the luck of one
run; three runs per kind let the study show the spread over training seeds beside the spread over clips.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from models.registry import ASSETS
from training import train_audio
from xai.attacks import robustness
from xai.audio import dataset as audio_data

KINDS = robustness.STYLE_MODELS  # style_audio first: style_adversarial starts from it


def replica_params(name: str, k: int) -> dict:
    """The shipped model's training parameters with the seed moved by ``k``."""
    params = dict(json.loads((ASSETS / f"{name}.json").read_text())["training"]["params"])
    params["seed"] = int(params["seed"]) + k
    return params


def train_replica(name: str, k: int, *, root: Path | None = None, overrides: dict | None = None,
                  progress=print) -> dict:
    """Train seed ``k`` of model ``name``; write ``<name>.safetensors`` and a short card into its seed folder.

    ``overrides``: parameters to change besides the seed (tests train tiny replicas)."""
    out = robustness.seed_folder(k)
    out.mkdir(parents=True, exist_ok=True)
    params = replica_params(name, k) | (overrides or {})
    t0 = time.time()
    torch.manual_seed(params["seed"])
    torch.set_num_threads(params["threads"])
    gen = torch.Generator().manual_seed(params["seed"])
    tr, va, te = (audio_data.load(s, root=root) for s in ("train", "val", "test"))
    net, spec, best, history, n_train, _ = train_audio.fit_model(
        name, params, tr, va, out_dir=out, gen=gen, progress=lambda m: progress(f"[seed {k}] {m}"))
    wpath = out / f"{name}.safetensors"
    save_file({n: v.contiguous() for n, v in net.state_dict().items()}, str(wpath))
    y = getattr(te, train_audio.TASKS[name]["label"])
    test_acc = float((train_audio.predict_logits(net, te).argmax(1) == y).mean())
    shipped = json.loads((ASSETS / f"{name}.json").read_text())
    card = {"name": name, "title": shipped["title"], "modality": "audio", "task": shipped["task"],
            "classes": shipped["classes"],
            "architecture": shipped["architecture"] | {k: v for k, v in spec.items() if k != "classes"}, "input": shipped["input"],
            "replica_of": name, "seed_offset": k, "data_version": shipped.get("data_version"),
            "metrics": {"test": {"accuracy": round(test_acc, 4), "n": len(te)}, "val_accuracy": round(best[0], 4)},
            "training": {"params": params, "history": history, "best_epoch": best[2], "clips": int(n_train),
                         "seconds": round(time.time() - t0, 1), "torch": torch.__version__},
            "reproduce": f"python -m training.robustness_seeds --seeds {k} --models {name}",
            "weights_sha256": hashlib.sha256(wpath.read_bytes()).hexdigest()}
    (out / f"{name}.json").write_text(json.dumps(card, indent=1))
    progress(f"[seed {k}] {name}: test accuracy {test_acc:.4f}, {card['training']['seconds']:.0f} s")
    return card


def main(argv=None) -> int:
    """Train the replicas asked for (command line)."""
    ap = argparse.ArgumentParser(prog="python -m training.robustness_seeds")
    ap.add_argument("--seeds", default="1,2", help="comma-separated seed offsets (0 is the shipped models)")
    ap.add_argument("--models", default=",".join(KINDS), help="comma-separated style model names")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    names = [n for n in KINDS if n in args.models.split(",")]
    for k in (int(s) for s in args.seeds.split(",")):
        if k == 0:
            raise SystemExit("seed 0 is the shipped models: train them with python -m training.train")
        for name in names:
            train_replica(name, k)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Registry of shipped models: a name -> the network, its classes, its input spec and its model card.

Weights are safetensors files in ``assets/models/`` next to a JSON card (``<name>.json``) that states the
data, split and measured accuracy; nothing is downloaded. The card's ``weights_sha256`` is checked on load,
and is the key that caches of derived results (activations, discovered concepts) are tied to.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch
from safetensors.torch import load_file

from models import nets

from .errors import InputError

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "models"


@dataclass(frozen=True, eq=False)
class Model:
    """A loaded, ready-to-run model (eval mode, CPU) and what is known about it."""

    name: str
    net: torch.nn.Module = field(repr=False)
    classes: tuple[str, ...]
    layers: tuple[str, ...]
    default_layer: str
    window_quarters: float
    hop_quarters: float
    card: dict = field(repr=False)
    weights_sha256: str = ""

    @property
    def title(self) -> str:
        """The model's display title (from its card; else its name)."""
        return self.card.get("title", self.name)


def _audio_net(spec):
    from models import audio_nets  # only audio models pay for it

    return audio_nets.build(spec)


_BUILDERS = {
    "PianoRollCNN": lambda spec: nets.PianoRollCNN(len(spec["classes"]), width=spec.get("width", 16)),
    "AudioCNN": _audio_net,
    "MidLevelCNN": _audio_net,
}


def available(modality: str = "symbolic") -> list[str]:
    """Names of the models of one modality ('symbolic' or 'audio') whose weights and card ship in assets/models.

    A card without a ``modality`` field is symbolic (the piano-roll models came first).
    """
    names = sorted(p.stem for p in ASSETS.glob("*.json") if (ASSETS / f"{p.stem}.safetensors").exists())
    return [n for n in names if card(n).get("modality", "symbolic") == modality]


def card(name: str) -> dict:
    """The model card of a shipped model: what it was trained on, how well it does."""
    path = ASSETS / f"{name}.json"
    if not path.exists():
        raise InputError(f"There is no model called '{name}'. Available: {', '.join(available()) or 'none'}.")
    return json.loads(path.read_text())


@lru_cache(maxsize=8)
def load(name: str = "composer", *, folder: Path | None = None) -> Model:
    """Build the network named in the card and load its shipped weights (verified by hash).

    ``folder``: another folder of weights and cards laid out like ``assets/models`` (e.g. the robustness study's
    extra training seeds); default the shipped models.
    """
    c = card(name) if folder is None else json.loads((Path(folder) / f"{name}.json").read_text())
    wpath = (ASSETS if folder is None else Path(folder)) / f"{name}.safetensors"
    if not wpath.exists():
        raise InputError(f"The weights of model '{name}' are missing ({wpath.name}); run the training script.")
    digest = hashlib.sha256(wpath.read_bytes()).hexdigest()
    expected = c.get("weights_sha256")
    if expected and expected != digest:
        raise InputError(f"The weights of model '{name}' do not match its model card; retrain or restore them.")
    spec = c["architecture"]
    net = _BUILDERS[spec["type"]](spec | {"classes": c["classes"]})
    net.load_state_dict(load_file(str(wpath)))
    net.eval()
    return Model(
        name=name,
        net=net,
        classes=tuple(c["classes"]),
        layers=tuple(spec.get("layers", nets.LAYERS)),
        default_layer=spec.get("default_layer", nets.DEFAULT_LAYER),
        window_quarters=float(c["input"].get("window_quarters", 0.0)),  # 0 for audio models (they use seconds)
        hop_quarters=float(c["input"].get("hop_quarters", 0.0)),
        card=c,
        weights_sha256=digest,
    )


def headline(card: dict) -> dict:
    """A card's headline numbers whatever its form: a held-out test split, or cross-validation by work.

    Returns ``accuracy`` (pieces / works / clips), ``excerpt_accuracy`` (windows), their baseline counterparts,
    ``spread`` (std over folds, cross-validated cards only), ``unit``, ``n``, ``per_class_f1`` and ``confusion``;
    missing values are None, so the Home and Models views read every shipped card the same way.
    """
    metrics = card.get("metrics") or {}
    base = card.get("baseline") or {}
    cv = metrics.get("cv")
    if isinstance(cv, dict):
        def mean(d, key):
            v = (d or {}).get(key)
            return v.get("mean") if isinstance(v, dict) else v

        conf = cv.get("confusion_works_summed")
        folds = metrics.get("cv_folds_completed") or len(metrics.get("per_fold") or [])
        return {"accuracy": mean(cv, "work_accuracy"), "excerpt_accuracy": mean(cv, "window_accuracy"),
                "baseline_accuracy": mean(base.get("cv"), "work_accuracy"),
                "baseline_excerpt_accuracy": mean(base.get("cv"), "window_accuracy"),
                "spread": (cv.get("work_accuracy") or {}).get("std") if isinstance(cv.get("work_accuracy"), dict)
                else None,
                "unit": f"works, {folds}-fold cross-validation by work", "excerpt_unit": "20-s windows",
                "n": int(sum(map(sum, conf))) if conf else None, "per_class_f1": cv.get("per_class_f1_works"),
                "confusion": conf}
    test = metrics.get("test") or {}
    piece = test.get("piece") if isinstance(test.get("piece"), dict) else None
    main = piece or test
    window = test.get("window") if isinstance(test.get("window"), dict) else {}
    btest = base.get("test") or {}
    return {"accuracy": main.get("accuracy", test.get("piece_accuracy")),
            "excerpt_accuracy": window.get("accuracy", test.get("window_accuracy")),
            "baseline_accuracy": btest.get("piece_accuracy"), "baseline_excerpt_accuracy": btest.get("window_accuracy"),
            "spread": None, "unit": "test pieces" if piece else "test clips", "excerpt_unit": "test excerpts",
            "n": main.get("n"), "per_class_f1": main.get("per_class_f1", test.get("per_class_f1")),
            "confusion": main.get("confusion")}


def lookup(card: dict, *keys):
    """``card[k1][k2]...``, or None where any level is missing: cards of different forms read alike.

    Examples
    --------
    >>> lookup({"metrics": {"test": {"accuracy": 0.8}}}, "metrics", "test", "accuracy")
    0.8
    >>> lookup({"metrics": {}}, "metrics", "test_pgd", "attacked_accuracy") is None
    True
    """
    d = card
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def summary_row(name: str) -> dict:
    """One model's row in the table of every model: input, task, classes, headline accuracy and what it was
    measured on (:func:`headline`), the held-out soundfont accuracy (audio models) and the parameter count."""
    c = card(name)
    h = headline(c)
    return {
        "model": name,
        "input": c.get("modality", "symbolic"),
        "task": c.get("task", "style"),
        "classes": len(c.get("classes", [])),
        "test accuracy": h["accuracy"],
        "measured on": f"{h['n'] if h['n'] is not None else '?'} {h['unit']}",
        "held-out soundfont accuracy": lookup(c, "metrics", "test_heldout_soundfont", "accuracy"),
        "parameters": lookup(c, "architecture", "parameters"),
    }


def outdated_models(record) -> list[str]:
    """Shipped models whose weights changed since a stored result was computed with them.

    Walks a result (dicts and lists, as stored in JSON) for ``{"model": NAME, "weights_sha256": HASH}`` pairs and
    returns, sorted, each NAME whose shipped card now has another hash: the result describes earlier weights.
    """
    found: dict[str, str] = {}

    def walk(x) -> None:
        if isinstance(x, dict):
            if isinstance(x.get("model"), str) and isinstance(x.get("weights_sha256"), str):
                found[x["model"]] = x["weights_sha256"]
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(record)
    now = {n: card(n).get("weights_sha256") for n in found if (ASSETS / f"{n}.json").exists()}
    return sorted(n for n, h in found.items() if n in now and now[n] and now[n] != h)


def picker_label(name: str) -> str:
    """A model as offered in a picker: its card's title after its measured accuracy beside chance (first, as a
    narrow picker cuts the end off), so a model that is right half the time says so where it is chosen."""
    c = card(name)
    title = c.get("title") or name
    if name == "composer":  # six styles from the Middle Ages to folk song, beside the piano composers
        title = f"Styles across eras: {title}"
    if isinstance(lookup(c, "metrics", "cv"), dict):
        acc = headline(c)["accuracy"]
        return f"{acc:.0%} of works right (cross-validated by work) · {title}" if acc is not None else title
    acc = headline(c)["accuracy"]
    if acc is None:
        return title
    chance = f" (chance {1 / len(c['classes']):.0%})" if c.get("classes") else ""
    return f"{acc:.0%} right{chance} · {title}"

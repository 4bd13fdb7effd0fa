"""Browsing a discovery: the settings that name one, a summary per concept, keeping a concept, sharing it.

What the 'Discovered concepts' page does with :mod:`xai.concepts.discovery` besides drawing: the settings a
user picks (and the key a result is held under), one line of numbers per concept, a discovered concept turned
into a library concept ready for TCAV, the finding a share link carries, and the settings a share link restores.
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xai._upload import safe_filename
from xai.concepts import discovery
from xai.concepts import library as concepts
from xai.concepts.discovery import concept_label
from xai.concepts.excerpts import ExcerptSet
from xai.contract import Progress

__all__ = ["K_CHOICES", "N_SUMMARY", "Settings", "summaries", "classes_used", "keep", "file_stem", "share_state",
           "restored", "record_timing", "per_excerpt", "duration", "estimate", "shipped_pairs", "default_pair"]

K_CHOICES = (2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32)
N_SUMMARY = 20  # top excerpts a concept's one-line summary counts classes over
SHOWN = (2, 12, 2)  # excerpts shown per concept: fewest, most, step


def classes_used(disc: discovery.Discovery) -> tuple[str, ...] | None:
    """The classes whose excerpts a discovery factorised (None: all)."""
    used = disc.params.get("classes_used", "all")
    return None if used in (None, "all") else tuple(used)


@dataclass(frozen=True)
class Settings:
    """What names a discovery on the page: layer, method, K, the classes factorised (None: all), the seed, and
    whether the two classes are contrasted (the paper's pairwise mode; their order says which the difference of
    logits favours)."""

    layer: str
    method: str = "nmf"
    n_concepts: int = 8
    classes: tuple[str, ...] | None = None
    random_state: int = 0
    contrast: bool = False

    @classmethod
    def of(cls, disc: discovery.Discovery) -> Settings:
        """The settings a discovery was made with."""
        return cls(disc.layer, disc.method, int(disc.n_concepts), classes_used(disc), int(disc.random_state),
                   bool(disc.params.get("contrast", False)))

    def key(self, model) -> tuple:
        """The key a result is held under: the model (by name and weights) and the settings."""
        key = (model.name, model.weights_sha256, self.layer, self.method, self.n_concepts, self.classes,
               self.random_state)
        return (*key, "contrast") if self.contrast else key

    def _kwargs(self) -> dict:
        return {"layer": self.layer, "method": self.method, "n_concepts": self.n_concepts,
                "random_state": self.random_state, "classes": self.classes, "contrast": self.contrast}

    def lookup(self, excerpts: ExcerptSet, model) -> tuple[discovery.Discovery | None, str]:
        """A stored result (the user's cache, else the shipped ones), or ``(None, 'missing' | 'stale')``."""
        return discovery.cached(excerpts, model, compute=False, **self._kwargs())

    def compute(self, excerpts: ExcerptSet, model, *, curve: bool = False,
                progress: Progress | None = None) -> tuple[discovery.Discovery, str]:
        """A fresh factorisation (never the shipped result; the user's cache unless ``curve`` is missing there)."""
        return discovery.cached(excerpts, model, curve=curve, shipped=None, progress=progress, **self._kwargs())

    @staticmethod
    def channels(model, layer: str) -> int:
        """Channels of ``layer`` of ``model``: the most concepts K can be (:func:`discovery.layer_channels`)."""
        return discovery.layer_channels(model, layer)

    @staticmethod
    def identity(disc: discovery.Discovery) -> str:
        """A short key of a result's concepts, for caches of what is computed from them (:func:`discovery.identity`)."""
        return discovery.identity(disc)


def shipped_pairs(model, *, folder=None) -> list[tuple[str, str, str]]:
    """(layer, first class, second class) of the pairwise results that ship for ``model``, in name order."""
    folder = discovery.ASSETS if folder is None else folder
    out = []
    for js in sorted(folder.glob(f"{model.name}_*_vs_*.json")):
        try:
            meta = json.loads(js.read_text(encoding="utf-8"))
            pair = meta["params"]["pair"]
            out.append((str(meta["layer"]), str(pair[0]), str(pair[1])))
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            continue
    return [p for p in out if p[1] in model.classes and p[2] in model.classes]


def default_pair(model, layer: str | None = None) -> tuple[str, str]:
    """The two classes the pairwise mode starts with: a shipped pair (at ``layer`` if one is), else the first two."""
    pairs = shipped_pairs(model)
    here = [p for p in pairs if p[0] == layer] or pairs
    return (here[0][1], here[0][2]) if here else tuple(model.classes[:2])


def summaries(disc: discovery.Discovery, excerpts: ExcerptSet, *, n: int = N_SUMMARY) -> list[dict]:
    """One row per concept: where its top ``n`` excerpts come from, the classes it moves most, its share, and a
    caution when it nearly duplicates another concept or only detects one class (:func:`discovery.flags`).

    In the pairwise mode the classes are the two compared, and two more columns say how the concept moves the
    difference of their logits and whether it is *suggested* (raises one, lowers the other)."""
    rows = []
    total = max(disc.presence_.sum(), 1e-12)
    marks = discovery.flags(disc, n_top=n)
    for k in range(disc.n_concepts):
        top = discovery.top_excerpts(disc, k, n=n, excerpts=excerpts)
        counts = collections.Counter(r["class"] for r in top).most_common(2)
        comps = collections.Counter(r["composer"] for r in top).most_common(1)
        imp = disc.importance(k)
        up = max(imp, key=imp.get)
        down = min(imp, key=imp.get)
        rows.append({
            "concept": concept_label(k),
            "found mostly in": ", ".join(f"{c} ({m}/{len(top)})" for c, m in counts),
            "composer": f"{comps[0][0]} ({comps[0][1]}/{len(top)})" if comps else "",
            "raises most": f"{up} ({imp[up]:+.2f})",
            "lowers most": f"{down} ({imp[down]:+.2f})",
            **_pair_columns(disc, k),
            "share of the layer": float(disc.presence_[:, k].sum() / total),
            "caution": "; ".join(marks[k]["notes"]),
        })
    return rows


def _pair_columns(disc: discovery.Discovery, k: int) -> dict:
    """The pairwise mode's columns of concept ``k``: its effect on the difference of the two logits, suggested."""
    if not disc.pair_:
        return {}
    a, b = disc.pair_
    return {f"{a} − {b}": f"{float(disc.pair_importance_[k]):+.2f}",
            "suggested": "yes" if bool(disc.suggested_[k]) else ""}


# --------------------------------------------------------------------------------------------------------------
# How long a new factorisation takes (measured, never guessed)
# --------------------------------------------------------------------------------------------------------------

_TIMINGS: dict[tuple[str, bool], float] = {}  # seconds per excerpt measured in this process, by (method, curve)
_TIMINGS_LOCK = threading.Lock()


def record_timing(method: str, curve: bool, seconds: float, n_excerpts: int) -> None:
    """Remember how long a factorisation took here (seconds per excerpt), for the next estimate."""
    with _TIMINGS_LOCK:
        _TIMINGS[(method, bool(curve))] = float(seconds) / max(1, int(n_excerpts))


def per_excerpt(model, excerpts: ExcerptSet, s: Settings, *, curve: bool) -> tuple[float | None, str]:
    """Measured seconds per excerpt for a new factorisation like ``s``, and where the measure comes from: one
    run in this process, else the stored result of the default settings at that layer, else none."""
    with _TIMINGS_LOCK:
        per = _TIMINGS.get((s.method, bool(curve)))
    if per is not None:
        return per, "measured on this server"
    shipped, _ = Settings(layer=s.layer, method=s.method).lookup(excerpts, model)  # the default's stored result
    if shipped is None or not shipped.params.get("seconds_total"):
        return None, ""
    seconds = float(shipped.params["seconds_total"])
    if curve:
        seconds += sum(float(p.get("seconds", 0.0)) for p in shipped.fidelity_curve_)
    return seconds / max(1, shipped.n_excerpts), "measured when the shipped result was made"


def duration(seconds: float) -> str:
    """A duration as a person would say it: 'about 40 seconds', 'about 3 minutes'."""
    if seconds < 90:
        return f"about {max(5, round(seconds / 5) * 5):.0f} seconds"
    return f"about {round(seconds / 60):.0f} minutes"


def estimate(model, excerpts: ExcerptSet, s: Settings, n: int, *, curve: bool) -> str:
    """The time a new factorisation of ``n`` excerpts should take, in words, from measured time per excerpt."""
    per, where = per_excerpt(model, excerpts, s, curve=curve)
    if per is None:
        return "can take from seconds to minutes."
    return (f"should take {duration(per * n)} ({per * 1000:.0f} ms per excerpt, {where}; longer while the "
            "computer is busy).")


def keep(disc: discovery.Discovery, excerpts: ExcerptSet, concept: int, *, name: str, description: str = "",
         n: int = 12, classes: Sequence[str] | None = None,
         composers: Sequence[str] | None = None) -> concepts.Concept:
    """A discovered concept as a library concept: its ``n`` most present excerpts (within the filters), with
    where it was found in its metadata; checked usable for TCAV (raises :class:`~xai.errors.XaiError` if not)."""
    rows = discovery.top_excerpts(disc, concept, n=n, classes=classes, composers=composers, excerpts=excerpts)
    examples = tuple(excerpts.example(r["excerpt"], label=f"discovered, presence {r['score']:.2f}") for r in rows)
    c = concepts.Concept(
        name=name,
        description=description.strip() or f"{concept_label(concept)} of {disc.title}.",
        examples=examples,
        origin="discovered",
        metadata={
            "layer": disc.layer,
            "method": disc.method,
            "n_concepts": disc.n_concepts,
            "concept_index": int(concept),
            "weights_sha256": disc.weights_sha256,
            "model": disc.params.get("model", ""),
            "random_state": disc.random_state,
            "excerpts_sha256": disc.excerpts_sha256,
            "filters": {"classes": classes, "composers": composers},
            "split": excerpts.meta.get("split", "validation + test pieces"),
        },
    )
    return concepts.check_usable(c)


def file_stem(disc: discovery.Discovery, concept: int) -> str:
    """A file name stem for a concept's exports."""
    return safe_filename(f"{disc.layer}_{disc.method}_k{disc.n_concepts}_concept{concept + 1}")


def share_state(disc: discovery.Discovery, concept: int, *, model: str | None, scope: str | None, n: int,
                classes: Sequence[str] | None, composers: Sequence[str] | None) -> dict:
    """What a share link to a concept carries (what :func:`restored` reads back)."""
    return {"model": disc.params.get("model") or model, "layer": disc.layer, "method": disc.method,
            "k": int(disc.n_concepts), "scope": scope, "concept": int(concept), "n": int(n),
            "f_classes": list(classes or []), "f_composers": list(composers or [])}


def restored(state: Mapping, model, *, all_classes: str = "All classes") -> dict:
    """The widget values a share link's ``state`` sets for ``model``, by name; values it does not know are left out.

    ``concept`` and ``f_composers`` come back as they are: they can be checked only once the result is at hand.
    """
    out = {}
    if state.get("layer") in model.layers:
        out["layer"] = state["layer"]
    if state.get("method") in discovery.METHODS:
        out["method"] = state["method"]
    if state.get("k") in K_CHOICES:
        out["k"] = state["k"]
    if state.get("scope") in (all_classes, *model.classes):
        out["scope"] = state["scope"]
    lo, hi, step = SHOWN
    if isinstance(state.get("n"), int) and lo <= state["n"] <= hi and state["n"] % step == 0:
        out["n"] = state["n"]
    out["f_classes"] = [c for c in state.get("f_classes") or [] if c in model.classes]
    out["concept"] = state.get("concept")
    out["f_composers"] = state.get("f_composers") or []
    return out

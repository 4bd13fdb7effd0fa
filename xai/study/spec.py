"""Study files: a TOML declaration of a grid of independent cells, checked before anything runs.

A study file names the study, where its results go, and one table array per kind of task; every list-valued
*axis* of a table is crossed with the others, every other key is fixed for the table's cells::

    name = "TCAV table, piano model"
    output = "results/tcav_piano"        # relative to the study file; default: <file name>.results beside it

    [[tcav]]
    models = ["piano_composer"]
    concepts = ["Alberti bass", "block chords"]
    classes = ["Chopin", "Bach"]
    layers = ["block3", "block4"]
    seeds = [0, 1, 2]
    options = { n_random = 20 }

    [[robustness]]
    seeds = [0, 1, 2]
    n_clips = 48

Each cell is identified by its kind and parameters (a hash of them): a finished cell is stored under that key and
skipped when the study is run again, so editing a file and rerunning computes only the new cells.

Every problem is reported before the first cell runs, as one sentence naming the file, the table and the key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xai.errors import InputError, ParameterError

__all__ = ["KINDS", "Kind", "Cell", "Study", "load", "loads"]


@dataclass(frozen=True)
class Kind:
    """What a table of one kind may hold: its axes (plural key -> cell parameter, value type) and fixed keys
    (key -> (type, default); a default of ``...`` means required)."""

    axes: dict[str, tuple[str, type]]
    fixed: dict[str, tuple[type | tuple[type, ...], Any]] = field(default_factory=dict)
    options: str | None = None  # the Options class that checks the table's ``options`` (module:Class)
    help: str = ""


_SEEDS = {"seeds": ("seed", int)}
KINDS: dict[str, Kind] = {
    "tcav": Kind(
        axes={"models": ("model", str), "concepts": ("concept", str), "classes": ("target", str),
              "layers": ("layer", str), **_SEEDS},
        fixed={"relative_to": (str, ""), "library": (str, ""), "record": (bool, False)},
        options="xai.concepts.options:TCAVOptions",
        help="TCAV of a library or built-in concept for a class at a layer (xai.concepts.experiment.run)"),
    "discovery": Kind(
        axes={"models": ("model", str), "layers": ("layer", str), "k": ("n_concepts", int),
              "methods": ("method", str), **_SEEDS},
        fixed={"classes": (list, [])},
        options="xai.concepts.options:DiscoveryOptions",
        help="concepts discovered in a layer (NMF / NTD) with their fidelity (xai.concepts.discovery)"),
    "robustness": Kind(
        axes=dict(_SEEDS),
        fixed={"n_clips": (int, 48), "n_instrument": (int, 60), "n_targeted": (int, 30), "steps": (int, 20)},
        help="the robustness study of the style models (xai.attacks.robustness.run_study)"),
    "veracity": Kind(
        axes={"models": ("model", str), **_SEEDS},
        fixed={"n_clips": (int, 40), "k": (int, 3), "samples": (int, 1000)},
        help="veracity of LIME under attack (xai.attacks.veracity.run_study)"),
    "label_noise": Kind(
        axes={"kinds": ("noise_kind", str), "noises": ("noise", float), **_SEEDS},
        fixed={"epochs": (int, 0), "n_train": (int, 0)},
        help="one point of a label-noise curve (xai.classroom.label_noise.train_run)"),
    "hub_attack": Kind(
        axes={"embeddings": ("embedding", str), "defences": ("defence", str), **_SEEDS},
        fixed={"n_songs": (int, 40)},
        options="xai.recommender.hub_attack:HubAttackOptions",
        help="the hub attack without / with a defence (xai.recommender.hub_attack.run_job)"),
    "hubness": Kind(
        axes={"embeddings": ("embedding", str), "k": ("k", int), "reductions": ("reduction", str)},
        fixed={"candidates": (int, 50)},
        help="hubness of a shipped embedding's k-NN recommender (xai.recommender.hubness.analyse)"),
    "call": Kind(
        axes=dict(_SEEDS),
        fixed={"function": (str, ...), "params": (dict, {})},
        help="any importable function 'package.module:function'(seed=..., **params) returning plain data"),
}
_TOP = {"name", "description", "output"}


@dataclass(frozen=True)
class Cell:
    """One independent task of a study: its kind and parameters (plain JSON values)."""

    kind: str
    params: dict

    @property
    def key(self) -> str:
        """A stable name for the cell: its kind and a hash of its parameters."""
        text = json.dumps({"kind": self.kind, "params": self.params}, sort_keys=True, separators=(",", ":"))
        return f"{self.kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    def title(self) -> str:
        """The cell in words, for progress lines and messages."""
        shown = {k: v for k, v in self.params.items() if k not in ("options", "params") and v not in ("", [], {})}
        return f"{self.kind} " + ", ".join(f"{k}={v}" for k, v in shown.items())


@dataclass(frozen=True)
class Study:
    """A checked study file: its name, result folder and cells (in the file's order, duplicates removed)."""

    name: str
    output: Path
    cells: tuple[Cell, ...]
    description: str = ""
    source: str = ""


def load(path: str | Path, *, output: str | Path | None = None) -> Study:
    """Read and check a study file; ``output`` overrides its result folder."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"There is no study file at {p}.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"The study file {p} cannot be read ({e}).") from None
    return loads(text, name=p.name, folder=p.resolve().parent, output=output)


def loads(text: str, *, name: str = "study.toml", folder: Path | None = None,
          output: str | Path | None = None) -> Study:
    """Check a study given as TOML text (``name`` and ``folder`` say where it came from, for messages and paths)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"The study file {name} is not valid TOML: {e}.") from None
    folder = folder or Path.cwd()
    unknown = sorted(k for k in doc if k not in _TOP and k not in KINDS)
    if unknown:
        raise InputError(f"The study file {name} has unknown section(s) {', '.join(unknown)}; a study holds "
                         f"{', '.join(sorted(_TOP))} and tables of the kinds {', '.join(KINDS)}.")
    for k in _TOP:
        if k in doc and not isinstance(doc[k], str):
            raise InputError(f"In the study file {name}, '{k}' must be text.")
    cells: dict[str, Cell] = {}
    for kind in KINDS:
        tables = doc.get(kind, [])
        if isinstance(tables, dict):
            tables = [tables]
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise InputError(f"In the study file {name}, '{kind}' must be a table array ([[{kind}]]).")
        for i, table in enumerate(tables, 1):
            for c in _expand(kind, table, f"the study file {name}, table [[{kind}]] number {i}"):
                cells.setdefault(c.key, c)
    if not cells:
        raise InputError(f"The study file {name} declares no cells; add a table such as [[tcav]] with its lists.")
    out = Path(output) if output is not None else Path(doc.get("output") or f"{Path(name).stem}.results")
    return Study(name=doc.get("name") or Path(name).stem, output=out if out.is_absolute() else folder / out,
                 cells=tuple(cells.values()), description=doc.get("description", ""), source=name)


def _expand(kind: str, table: dict, where: str) -> list[Cell]:
    spec = KINDS[kind]
    allowed = set(spec.axes) | set(spec.fixed) | ({"options"} if spec.options else set())
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"In {where}, the key(s) {', '.join(unknown)} are not known; a [[{kind}]] table takes "
                         f"{', '.join(sorted(allowed))}.")
    axes = {}
    for key, (param, typ) in spec.axes.items():
        if key not in table:
            if key == "seeds":
                axes[param] = [0]
                continue
            raise InputError(f"In {where}, the list '{key}' is missing.")
        axes[param] = _axis(table[key], typ, f"In {where}, '{key}'")
    fixed = {}
    for key, (typ, default) in spec.fixed.items():
        if key not in table:
            if default is ...:
                raise InputError(f"In {where}, '{key}' is missing.")
            fixed[key] = default
            continue
        v = table[key]
        if not _is(v, typ):
            raise InputError(f"In {where}, '{key}' must be {_type_name(typ)}, got {v!r}.")
        fixed[key] = v
    if spec.options:
        given = table.get("options", {})
        clash = sorted(set(given) & set(axes)) if isinstance(given, dict) else []
        if clash:
            raise InputError(f"In {where}, options {', '.join(clash)} are axes of the grid; give them as lists "
                             "outside 'options'.")
        opts = _options(spec.options, given, where)
        fixed["options"] = {k: v for k, v in opts.items() if k not in axes}
    cells = []
    for values in itertools.product(*axes.values()):
        cells.append(Cell(kind=kind, params=dict(zip(axes, values, strict=True)) | fixed))
    return cells


def _axis(value, typ: type, what: str) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise InputError(f"{what} is an empty list; give at least one value.")
    for v in values:
        if not _is(v, typ):
            raise InputError(f"{what} must hold {_type_name(typ)} values, got {v!r}.")
    return list(dict.fromkeys(float(v) if typ is float else v for v in values))


def _is(v, typ) -> bool:
    types = typ if isinstance(typ, tuple) else (typ,)
    if isinstance(v, bool):
        return bool in types
    if float in types and isinstance(v, int):
        return True
    return isinstance(v, types)


def _type_name(typ) -> str:
    names = {int: "a whole number", float: "a number", str: "text", list: "a list", dict: "a table", bool: "true/false"}
    types = typ if isinstance(typ, tuple) else (typ,)
    return " or ".join(names.get(t, t.__name__) for t in types)


def _options(path: str, values, where: str) -> dict:
    """The table's ``options`` checked against the declared Options (bounds, choices); returned complete."""
    from importlib import import_module

    if not isinstance(values, dict):
        raise InputError(f"In {where}, 'options' must be a table, e.g. options = {{ n_random = 20 }}.")
    module, cls = path.split(":")
    options_cls = getattr(import_module(module), cls)
    try:
        return options_cls.from_dict(values).to_dict()
    except ParameterError as e:
        raise InputError(f"In {where}, options: {e}") from None
    except TypeError as e:  # a value of the wrong kind for a dataclass field
        raise InputError(f"In {where}, options: {e}.") from None

"""A finding: one result of any view, as a self-contained HTML report and as JSON of its numbers.

Every result view (prediction, TCAV run, discovered concept, LIME, attack, hubness) builds a :class:`Finding`
from its result and hands it to the page's share panel, which offers :func:`to_html` and :func:`to_json` as
downloads. The HTML opens offline (figures, tables, audio embedded; see :func:`xai.export.report.concept_report`); the
JSON holds the parameters and numbers only, so it can be cited, diffed and re-read by scripts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from xai.errors import ParameterError
from xai.export import report

__all__ = ["Finding", "FORMAT", "VERSION", "to_json", "to_html", "from_json"]

FORMAT = "musicxai.finding"
VERSION = 1


@dataclass(frozen=True)
class Finding:
    """One result, described for export.

    ``view`` names the view that made it ('classify', 'tcav', 'discover', 'audio', 'lime', 'attack', 'hubness',
    ...); ``parameters`` are the options it was made with and ``numbers`` its results, both JSON-able;
    ``model`` is the registry name of the model asked (its card is referenced in the report); ``sections`` are
    the report's figures, tables and audio (:class:`xai.export.report.Section`).
    """

    view: str
    title: str
    summary: str = ""
    parameters: dict = field(default_factory=dict)
    numbers: dict = field(default_factory=dict)
    model: str | None = None
    sections: tuple = ()


def _model_reference(name: str | None) -> dict | None:
    if not name:
        return None
    try:
        from models import registry

        card = registry.card(name)
    except Exception:  # an unknown or user-supplied model: cite it by name only
        return {"name": name}
    return {"name": name, "title": card.get("title", name), "card": f"assets/models/{name}.md",
            "weights_sha256": card.get("weights_sha256", "")}


def to_dict(f: Finding) -> dict:
    """The finding's plain data (no figures, no audio)."""
    return {"format": FORMAT, "version": VERSION, "view": f.view, "title": f.title, "summary": f.summary,
            "model": _model_reference(f.model), "parameters": f.parameters, "numbers": f.numbers}


def to_json(f: Finding) -> str:
    """The finding as indented JSON; raises ParameterError if its numbers are not JSON-able."""
    try:
        return json.dumps(to_dict(f), indent=1, allow_nan=False, default=_plain)
    except (TypeError, ValueError) as e:
        raise ParameterError(f"This result cannot be written as JSON ({e}).") from e


def from_json(text: str) -> dict:
    """Read back a finding's JSON, checking its format and version; raises ParameterError otherwise."""
    try:
        d = json.loads(text)
    except (TypeError, ValueError) as e:
        raise ParameterError("This is not a Music XAI finding: it is not valid JSON.") from e
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ParameterError("This is not a Music XAI finding.")
    if d.get("version") != VERSION:
        raise ParameterError(f"This finding was written by another version of Music XAI (format version "
                             f"{d.get('version')!r}; this one reads {VERSION}).")
    return d


def to_html(f: Finding, *, plotlyjs: str = "inline") -> str:
    """The finding as one HTML document: summary, its sections, then its parameters and numbers as tables."""
    ref = _model_reference(f.model)
    sections = list(f.sections)
    if f.parameters:
        sections.append(report.Section("Parameters", table=tuple(_rows(f.parameters))))
    if f.numbers:
        sections.append(report.Section("Numbers", text="Every number of this result, as in the JSON export.",
                                       table=tuple(_rows(f.numbers))))
    footer = ""
    if ref:
        footer = (f"Model: {ref.get('title', ref['name'])} ({ref['name']}); its card, with data, split and measured "
                  f"accuracy, is {ref.get('card', 'not shipped')}"
                  + (f"; weights sha256 {ref['weights_sha256'][:16]}…" if ref.get("weights_sha256") else "") + ".")
    return report.concept_report(f.title, sections, intro=f.summary, plotlyjs=plotlyjs, footer=footer)


def _rows(d: dict) -> list[dict]:
    return [{"name": str(k), "value": _short(v)} for k, v in d.items()]


def _short(v) -> str:
    text = json.dumps(v, default=_plain) if not isinstance(v, str) else v
    return text if len(text) <= 400 else text[:400] + "…"


def _plain(v):
    """JSON fallback for numpy scalars and arrays."""
    if hasattr(v, "tolist"):
        return v.tolist()
    if hasattr(v, "item"):
        return v.item()
    raise TypeError(f"{type(v).__name__} is not JSON-able")

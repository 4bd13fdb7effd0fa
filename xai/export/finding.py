"""A finding: one result of any view, as a self-contained HTML report and as JSON of its numbers.

Every result view (prediction, TCAV run, discovered concept, LIME, attack, hubness) builds a :class:`Finding`
from its result and hands it to the page's share panel, which offers :func:`to_html` and :func:`to_json` as
downloads. The HTML opens offline (figures, tables, audio embedded; see :func:`xai.export.report.concept_report`); the
JSON holds the parameters and numbers only, so it can be cited, diffed and re-read by scripts.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from xai.concepts import discovery
from xai.errors import ParameterError, XaiError
from xai.export import report
from xai.views.concepts import concept_importance

__all__ = ["Finding", "FORMAT", "VERSION", "prediction_finding", "discovery_finding", "attribution_finding",
           "to_json", "to_html", "from_json"]

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


def prediction_finding(piece, prediction, window: int, *, audio: bytes) -> Finding:
    """The finding of a prediction (the Classify view): the answer's figures, the chosen window and its audio.

    Parameters
    ----------
    piece : Piece
        The piece that was classified.
    prediction : Prediction
        The model's reading of it (:func:`xai.symbolic.predict.classify`).
    window : int
        Index of the window the user picked; its caption is a parameter and its audio a section.
    audio : bytes
        WAV bytes of that window.
    """
    from xai import views  # imported here: the figures bring plotly, which the JSON export never needs

    w = prediction.windows[window]
    caption = views.window_caption(prediction, window)
    return Finding(
        view="classify", title=f"{piece.title}: {prediction.label}",
        summary=views.reading(prediction, markup=False),
        parameters={"piece": piece.title, "file_sha256": piece.source.sha256 if piece.source else None,
                    "model": prediction.model, "window": caption},
        numbers=prediction.summary(), model=prediction.model,
        sections=(report.Section("The answer", figures=(views.probability_bars(prediction),
                                                        views.prediction_timeline(prediction))),
                  report.Section(f"Hear {views.bars_text(w.start_bar, w.end_bar)}", audio=((caption, audio),))))


def _model_reference(name: str | None) -> dict | None:
    """How the report cites the model: name, title, card and weights hash (the name alone for an unknown model)."""
    if not name:
        return None
    from models import registry  # imported here: the registry brings torch, which exporting a finding never needs

    try:
        card = registry.card(name)
    except (XaiError, OSError, ValueError):  # an unknown or user-supplied model (or a damaged card): cite it by name
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



def to_html_or_note(f: Finding) -> str:
    """:func:`to_html`, or a one-paragraph HTML page that says why the report could not be written: a download
    offered by a page must produce a file, never a traceback."""
    try:
        return to_html(f)
    except (XaiError, ValueError, TypeError, KeyError, OSError) as e:
        return f"<!doctype html><p>This report could not be written: {type(e).__name__}: {html.escape(str(e))}</p>"

def _rows(d: dict) -> list[dict]:
    return [{"name": str(k), "value": _short(v)} for k, v in d.items()]


def _short(v) -> str:
    text = json.dumps(v, default=_plain) if not isinstance(v, str) else v
    return text if len(text) <= 400 else text[:400] + "…"


def _plain(v):
    """JSON fallback for numpy scalars and arrays.

    Not :func:`xai.contract.jsonable`, which writes NaN as null: a finding's numbers must refuse NaN instead
    (``allow_nan=False``), so an export never passes a missing number off as an absent one.
    """
    if hasattr(v, "tolist"):
        return v.tolist()
    if hasattr(v, "item"):
        return v.item()
    raise TypeError(f"{type(v).__name__} is not JSON-able")


def discovery_finding(disc, excerpts, concept: int, state: Mapping) -> Finding:
    """A short report of a discovered concept and its numbers: its importance per class and its most present
    excerpts (the Discovered-concepts view's share panel)."""
    top = discovery.top_excerpts(disc, concept, n=state["n"], classes=state["f_classes"] or None,
                                 composers=state["f_composers"] or None, excerpts=excerpts)
    rows = [{"piece": r["piece"], "bars": f"{r['start_bar']}–{r['end_bar']}", "presence": round(float(r["score"]), 4)}
            for r in top]
    return Finding(
        view="discover", title=f"{discovery.concept_label(concept)} of {disc.layer} ({disc.method.upper()}, K="
        f"{disc.n_concepts})",
        summary="A concept the model found on its own: its importance for each style and the excerpts where it is "
                "most present.",
        parameters={k: v for k, v in state.items() if k != "model"}, model=state["model"],
        numbers={"importance": disc.importance(concept), "top_excerpts": rows,
                 "explained_variance": float(disc.explained_variance_)},
        sections=(report.Section("Importance for each style", figures=(concept_importance(disc, concept),)),
                  report.Section("Where it is most present", table=tuple(rows))))


ATTRIBUTION_CAVEAT = ("Pixel attributions say where a small change of the input would move the model's score, under "
                      "one choice of baseline; they are not what the music 'means' to the model. Read them beside "
                      "the completeness gap, the baselines, the randomisation check and the agreement with LIME.")


def attribution_finding(result, *, audio: tuple = ()) -> Finding:
    """The finding of a captum attribution (the Attributions view): its maps on the input and on the musical grid,
    every check, and the top segments to hear (``audio``: (caption, WAV bytes) pairs)."""
    from xai.views import attribution as views  # imported here: the figures bring plotly and captum's names

    name = views.method_name(result.method)
    return Finding(
        view="attribute", title=f"{name}: {result.title or result.model} → {result.target_name}",
        summary=ATTRIBUTION_CAVEAT, parameters={"model": result.model, "title": result.title, **result.options},
        numbers=result.summary(), model=result.model,
        sections=(report.Section(f"Where {name} puts the attribution",
                                 figures=(views.input_map(result), views.grid_map(result)),
                                 table=tuple(views.ranked_rows(result)[:12])),
                  report.Section("Checks", figures=(views.agreement_heatmap(result), views.randomisation_plot(result),
                                                    views.deletion_plot(result)),
                                 table=tuple(views.baseline_rows(result))),
                  report.Section("Listen", audio=tuple(audio))))

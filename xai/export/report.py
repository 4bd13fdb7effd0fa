"""Exports of a finding: a self-contained HTML report (figures, tables, bar numbers, audio) and MIDI bundles.

:func:`concept_report` is general: a title, an introduction and a list of :class:`Section` (text, plotly
figures, a table, audio clips) become one HTML file that opens offline (plotly.js inlined once, audio as
base64 WAV). :func:`discovery_report` and :func:`discovery_midi` assemble those for one discovered concept
(:mod:`xai.concepts.discovery`): its importance, its top excerpts with the concept drawn on their piano rolls, their
bar numbers and their sound.
"""

from __future__ import annotations

import base64
import html
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from xai._upload import safe_filename  # re-exported: the one filename sanitiser
from xai.errors import ParameterError
from xai.symbolic import music

if TYPE_CHECKING:
    from xai.concepts.discovery import Discovery, ExcerptSet

__all__ = ["Section", "concept_report", "midi_zip", "safe_filename", "discovery_report", "discovery_midi"]

_PLOTLYJS = ("inline", "cdn", "none")
_CSS = """
body{font-family:'Source Sans Pro',Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.7em;margin-bottom:.2em} h2{font-size:1.3em;margin-top:1.6em;border-bottom:1px solid #ddd}
h3{font-size:1.05em;margin:1.2em 0 .3em} p.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em} td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
th{background:#f4f4f4} .clip{margin:.4em 0} .clip span{display:inline-block;min-width:22em}
"""


@dataclass(frozen=True)
class Section:
    """One part of a report: a heading, text (blank lines split paragraphs), figures, a table and audio clips.

    ``figures`` are plotly figures; ``table`` is a list of rows (dicts with the same keys); ``audio`` is a list
    of (caption, WAV bytes). ``level`` 2 is a main section, 3 a sub-section.
    """

    heading: str
    text: str = ""
    figures: tuple = ()
    table: tuple[dict, ...] = ()
    audio: tuple[tuple[str, bytes], ...] = ()
    level: int = 2
    extra: dict = field(default_factory=dict)


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in re.split(r"\n\s*\n", text) if p.strip())


def _table(rows: Sequence[dict]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r.get(k)))}</td>" for k in keys) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def concept_report(
    title: str,
    sections: Sequence[Section],
    *,
    intro: str = "",
    plotlyjs: str = "inline",
    footer: str = "",
) -> str:
    """One self-contained HTML document from a title, an introduction and sections.

    Parameters
    ----------
    title : str
    sections : sequence of Section
    intro : str
        Text under the title (blank lines split paragraphs).
    plotlyjs : {'inline', 'cdn', 'none'}
        How the figures get plotly.js: inlined once (opens offline; about 4.5 MB), from the plotly CDN, or not at
        all (the page that embeds the report provides it).
    footer : str
        Small print at the end (e.g. how the result was made).

    Returns
    -------
    str
        The HTML document. All text is escaped; nothing is fetched when it opens, unless ``plotlyjs='cdn'``.
    """
    if plotlyjs not in _PLOTLYJS:
        raise ParameterError(f"The 'plotlyjs' parameter must be one of {', '.join(map(repr, _PLOTLYJS))}, "
                             f"got {plotlyjs!r}.")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='meta'>Made {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} with Music XAI.</p>",
        _paragraphs(intro),
    ]
    js_pending = plotlyjs != "none"
    for s in sections:
        level = 3 if s.level == 3 else 2
        parts.append(f"<h{level}>{html.escape(s.heading)}</h{level}>")
        parts.append(_paragraphs(s.text))
        for fig in s.figures:
            include = {"inline": True, "cdn": "cdn"}.get(plotlyjs, False) if js_pending else False
            parts.append(fig.to_html(full_html=False, include_plotlyjs=include, config={"displaylogo": False}))
            js_pending = False
        parts.append(_table(s.table))
        for caption, wav in s.audio:
            data = base64.b64encode(wav).decode("ascii")
            parts.append(f"<div class='clip'><span>{html.escape(caption)}</span>"
                         f"<audio controls preload='none' src='data:audio/wav;base64,{data}'></audio></div>")
    if footer:
        parts.append(f"<hr><p class='meta'>{html.escape(footer)}</p>")
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def midi_zip(files: Sequence[tuple[str, bytes]]) -> bytes:
    """A ZIP archive of (file name, MIDI bytes); repeated names get a number."""
    buf = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            stem, dot, ext = name.rpartition(".")
            base, n = name, 2
            while base in seen:
                base = f"{stem}_{n}{dot}{ext}" if dot else f"{name}_{n}"
                n += 1
            seen.add(base)
            z.writestr(base, data)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------- discovered concepts


def _excerpt_rows(discovery: Discovery, excerpts: ExcerptSet, concept: int, n: int, **filters) -> list[dict]:
    from xai.concepts.discovery import top_excerpts  # imported here: discovery brings torch

    return top_excerpts(discovery, concept, n=n, excerpts=excerpts, **filters)


def discovery_midi(
    discovery: Discovery,
    excerpts: ExcerptSet,
    concept: int,
    *,
    n: int = 8,
    least: bool = False,
    classes: Sequence[str] | None = None,
    composers: Sequence[str] | None = None,
) -> bytes:
    """A ZIP of MIDI files: a concept's top (or least) excerpts, named by rank, piece and bars."""
    files = []
    for rank, r in enumerate(_excerpt_rows(discovery, excerpts, concept, n, least=least, classes=classes,
                                           composers=composers), 1):
        piece = excerpts.piece(r["excerpt"])
        name = f"{rank:02d}_{safe_filename(r['piece'], limit=50)}_bars{r['start_bar']}-{r['end_bar']}.mid"
        files.append((name, music.to_midi_bytes(piece)))
    return midi_zip(files)


def discovery_report(
    discovery: Discovery,
    excerpts: ExcerptSet,
    concept: int,
    *,
    n: int = 6,
    n_least: int = 3,
    classes: Sequence[str] | None = None,
    composers: Sequence[str] | None = None,
    name: str = "",
    description: str = "",
    audio: bool = True,
    plotlyjs: str = "inline",
) -> str:
    """A short HTML report on one discovered concept: importance, fidelity, top and least excerpts.

    Each excerpt is cited by piece and bars, drawn as a piano roll with the concept's presence over it, and
    (with ``audio``) playable: the bars where the concept is strongest.
    """
    # Imported here: the figures (plotly) and discovery (torch) are heavy, and most exports need neither.
    from xai import views
    from xai.concepts.discovery import concept_region

    label = name or views.concept_label(concept)
    sections = [
        Section(
            "Importance for each class",
            "How the class logit changes when the concept is added at every position of the layer "
            "(ICE's directional derivative, averaged over the class's excerpts).",
            figures=(views.concept_importance(discovery, concept),),
        )
    ]
    if discovery.fidelity_ is not None:
        f = discovery.fidelity_
        sections.append(Section(
            "Fidelity of the K concepts together",
            f"With layer {discovery.layer} rebuilt from these {discovery.n_concepts} concepts, the model keeps "
            f"{f['accuracy']:.1%} accuracy (original {f['original_accuracy']:.1%}) and gives the same answer for "
            f"{f['agreement']:.1%} of the excerpts; the concepts explain {discovery.explained_variance_:.1%} of "
            f"the layer's variance.",
            figures=(views.fidelity_plot(discovery.curve(), chosen=discovery.n_concepts),)
            if len(discovery.curve()) > 1 else (),
        ))
    peak = float(discovery.presence_[:, concept].max()) or None
    for heading, least, count in (("Where it is most present", False, n), ("Where it is least present", True, n_least)):
        rows = _excerpt_rows(discovery, excerpts, concept, count, least=least, classes=classes, composers=composers)
        sections.append(Section(heading, table=tuple(
            {"#": i + 1, "piece": r["piece"], "bars": f"{r['start_bar']}–{r['end_bar']}", "class": r["class"],
             "composer": r["composer"], "presence": r["score"]} for i, r in enumerate(rows))))
        for i, r in enumerate(rows, 1):
            region = concept_region(discovery, r["row"], concept, excerpts=excerpts)
            piece = excerpts.piece(r["excerpt"])
            clips = ()
            if audio and piece.n_notes:
                wav = views.listening_wav(music.render_audio(piece, region["start_beat"], region["end_beat"]))
                clips = ((f"bars {region['start_bar']}–{region['end_bar']} (where it is strongest)", wav),)
            fig = views.discovery_roll(piece, discovery.presence_[r["row"], concept],
                                       region=(region["start_beat"], region["end_beat"]), peak=peak, height=280)
            sections.append(Section(f"{i}. {r['citation']} ({r['class']}, presence {r['score']:.2f})",
                                    figures=(fig,), audio=clips, level=3))
    intro = (description + "\n\n" if description else "") + (
        f"A concept found without labels by {discovery.method.upper()} in layer {discovery.layer} of the model "
        f"'{discovery.params.get('model', '')}' ({discovery.n_concepts} concepts over {discovery.n_excerpts} "
        f"excerpts of held-out pieces). It is {views.concept_label(concept).lower()} of that factorisation. "
        f"The orange shade on each piano roll is where the concept sits; the orange band marks the bars to listen to."
    )
    footer = (f"Model weights sha256 {discovery.weights_sha256[:16]}…, seed {discovery.random_state}; "
              f"excerpt set {discovery.excerpts_sha256[:12]}.")
    return concept_report(label, sections, intro=intro, plotlyjs=plotlyjs, footer=footer)

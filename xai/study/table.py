"""The TCAV table of a study (concept x class x layer, over seeds), beside the table Foscarin et al. (2022) report.

A TCAV study (``[[tcav]]`` in a study file, :mod:`xai.study.spec`) stores one cell per concept, class, layer and
seed, each a full experiment of :func:`xai.concepts.experiment.run` with its own null of random sets. A single cell
tests one (class, layer), so the correction the product applies across the tests of one experiment (Holm by
default, :func:`xai.concepts.tcav.corrections`, only over the layers whose CAVs beat random ones) is applied here,
over the finished cells of each concept and seed: the family of tests a page run of that concept for every class
and layer would correct together. Nothing is recomputed; :func:`build` reads the study's stored cells.

Per (concept, class, layer) the table gives the TCAV score's mean over seeds with its spread (standard deviation
over seeds; with one seed, over that seed's runs), how many seeds are significant after correction, and a mark:
``+`` (significant above the random sets' scores in most seeds), ``−`` (below), blank (not significant), or
``no CAV`` (the layer's CAVs are no better than random sets' in most seeds, so nothing is tested: the page's
"no score"). :data:`PAPER` holds the paper's "+"/"−"/blank at its layer4 for the three concepts it reports and the
six composers our piano model knows; :func:`markdown` writes both side by side with the agreement counted.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from xai.contract import Result
from xai.study import runner
from xai.study.spec import Study

__all__ = ["TableCell", "TCAVTable", "PAPER", "PAPER_CONCEPTS", "build", "from_records", "markdown",
           "agreement", "DIFFERENCES", "stale", "paper_test"]

PLUS, MINUS, BLANK, NO_CAV = "+", "−", "", "no CAV"

#: Our built-in piano concepts -> the name of the paper's concept they stand for.
PAPER_CONCEPTS: dict[str, str] = {"alberti bass": "alberti bass", "virtuosic figuration": "difficult-to-play",
                                  "contrapuntal texture": "contrapuntal"}
#: The paper's table (its README's figs/table1.png, layer4; transcribed in the research notes) for our composers.
#: Its other composers (Scarlatti, Mozart, Schumann, Brahms, Debussy, Scriabin, Rachmaninoff) are no class here.
PAPER: dict[str, dict[str, str]] = {
    "alberti bass": {"Bach": PLUS, "Haydn": PLUS, "Beethoven": PLUS, "Schubert": BLANK, "Chopin": MINUS,
                     "Liszt": MINUS},
    "difficult-to-play": {"Bach": MINUS, "Haydn": MINUS, "Beethoven": BLANK, "Schubert": BLANK, "Chopin": BLANK,
                          "Liszt": PLUS},
    "contrapuntal": {"Bach": PLUS, "Haydn": BLANK, "Beethoven": BLANK, "Schubert": MINUS, "Chopin": MINUS,
                     "Liszt": MINUS},
}
PAPER_LAYER = "layer4"


@dataclass(frozen=True)
class TableCell(Result):
    """One (concept, class, layer) of the table, summarised over the seeds finished.

    ``scores`` and ``random_means`` hold each seed's mean TCAV score and its random sets' mean score;
    ``p_corrected`` each seed's corrected p-value (1.0 where the layer was not tested); ``tested`` and
    ``significant`` count seeds. ``spread`` is the standard deviation over seeds, or with one seed the standard
    deviation over its runs (``spread_over`` says which). ``paper_rule`` is the mark the paper's test would give
    the same runs (:func:`paper_test`), to tell what the statistics change from what the model and concepts do.
    """

    concept: str
    target: str
    layer: str
    seeds: tuple[int, ...]
    scores: tuple[float, ...]
    random_means: tuple[float, ...]
    p_corrected: tuple[float, ...]
    tested: int
    significant: int
    mean: float
    spread: float
    spread_over: str
    mark: str
    paper_rule: str = ""  # the paper's own test applied to this cell's runs (:func:`paper_test`), majority of seeds
    random_sds: tuple[float, ...] = ()  # each seed's spread of the random sets' scores (the null's spread)
    p_values: tuple[float, ...] = ()  # each seed's p-value before correction


@dataclass(frozen=True)
class TCAVTable(Result):
    """The table of a TCAV study: its cells, what is missing, and how the cells were computed."""

    study: str
    models: tuple[str, ...]
    concepts: tuple[str, ...]
    targets: tuple[str, ...]
    layers: tuple[str, ...]
    seeds: tuple[int, ...]
    options: dict
    cells: tuple[TableCell, ...]
    n_cells: int
    n_finished: int
    failed: tuple[tuple[str, str], ...]  # (cell title, message)
    cell_seconds: float  # compute time of the finished cells, summed
    planned: tuple[tuple[str, str, str], ...] = ()  # every (concept, class, layer) the study declares
    n_stale: int = 0  # finished cells left out: computed from another version of their concept

    def declared(self, concept: str, target: str, layer: str) -> bool:
        """Whether the study declares this (concept, class, layer) (every one, when ``planned`` is empty)."""
        return not self.planned or (concept, target, layer) in self.planned

    def cell(self, concept: str, target: str, layer: str) -> TableCell | None:
        """The summary of one (concept, class, layer), or None when none of its seeds finished."""
        for c in self.cells:
            if (c.concept, c.target, c.layer) == (concept, target, layer):
                return c
        return None


def _correct(records: list[dict], options: Mapping) -> list[dict]:
    """Each record with ``p_table`` and ``significant_table``: corrected over its (concept, seed) family."""
    from xai.concepts.tcav import corrections  # torch: only when a table is built

    alpha, method = float(options.get("alpha_significance", 0.05)), str(options.get("correction", "holm"))
    families: dict[tuple, list[int]] = {}
    for i, r in enumerate(records):
        if r["cav_better_than_random"]:
            families.setdefault((r["model"], r["concept"], r["seed"]), []).append(i)
    out = [dict(r, p_table=1.0, significant_table=False) for r in records]
    for idx in families.values():
        pc = corrections([records[i]["p_value"] for i in idx], method)
        for i, p in zip(idx, pc, strict=True):
            out[i]["p_table"], out[i]["significant_table"] = float(p), bool(p < alpha)
    return out


def _mark(recs: list[dict]) -> str:
    n = len(recs)
    if sum(r["cav_better_than_random"] for r in recs) * 2 <= n:
        return NO_CAV
    up = sum(r["significant_table"] and r["tcav_mean"] > r["random_mean"] for r in recs)
    down = sum(r["significant_table"] and r["tcav_mean"] < r["random_mean"] for r in recs)
    return PLUS if up * 2 > n else MINUS if down * 2 > n else BLANK


def paper_test(mean: float, std: float, n_runs: int, n_classes: int, alpha: float = 0.05) -> str:
    """The paper's mark for one cell's runs: ``ttest_ind`` of the run scores P against 1 − P (captum's "random"
    column of a binary CAV), Bonferroni over the classes, ``+`` when significant and mean ≥ 0.5, ``−`` below.

    This is the test as the paper's code runs it (research notes §1.3), applied to our runs, not a test we endorse:
    it is a one-sample test of mean = 0.5 with an inflated t, and no random-against-random null.
    """
    from scipy import stats

    if n_runs < 2 or mean == 0.5:
        return BLANK
    if std == 0:
        p = 0.0
    else:
        p = float(stats.ttest_ind_from_stats(mean, std, n_runs, 1 - mean, std, n_runs).pvalue)
    if p >= alpha / max(1, n_classes):
        return BLANK
    return PLUS if mean >= 0.5 else MINUS


def _majority(marks: list[str]) -> str:
    for m in (PLUS, MINUS):
        if sum(x == m for x in marks) * 2 > len(marks):
            return m
    return BLANK


def _summarise(key: tuple[str, str, str], recs: list[dict], n_classes: int = 1) -> TableCell:
    recs = sorted(recs, key=lambda r: r["seed"])
    rule = _majority([paper_test(float(r["tcav_mean"]), float(r["tcav_std"]), int(r.get("n_runs", 0)), n_classes)
                      for r in recs])
    scores = tuple(float(r["tcav_mean"]) for r in recs)
    if len(scores) > 1:
        spread, over = statistics.stdev(scores), "seeds"
    else:
        spread, over = float(recs[0]["tcav_std"]), "runs"
    return TableCell(concept=key[0], target=key[1], layer=key[2], seeds=tuple(int(r["seed"]) for r in recs),
                     scores=scores, random_means=tuple(float(r["random_mean"]) for r in recs),
                     p_corrected=tuple(float(r["p_table"]) for r in recs),
                     tested=sum(bool(r["cav_better_than_random"]) for r in recs),
                     significant=sum(bool(r["significant_table"]) for r in recs),
                     mean=float(statistics.fmean(scores)), spread=float(spread), spread_over=over, mark=_mark(recs),
                     paper_rule=rule, random_sds=tuple(float(r.get("random_std", "nan")) for r in recs),
                     p_values=tuple(float(r["p_value"]) for r in recs))


def _depth(layer: str) -> tuple:
    """A layer name's sort key, shallow to deep: its numbers compare as numbers ('block2' < 'block10')."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", layer))


def from_records(records: Sequence[dict], *, study: str = "", options: Mapping | None = None,
                 n_cells: int | None = None, failed: Sequence[tuple[str, str]] = (),
                 cell_seconds: float = 0.0, planned: Sequence[tuple[str, str, str]] = ()) -> TCAVTable:
    """The table from one record per finished cell (``model``, ``seed`` and ``python -m xai tcav``'s record).

    ``options`` are the cells' TCAV options (their correction and significance level are applied here); axes are
    ordered as they first appear in ``planned`` (the study's declared cells), then in ``records``; layers shallow
    to deep by the numbers in their names (the last is compared with the paper's layer4).
    """
    options = dict(options or {})
    recs = _correct(list(records), options)
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for r in recs:
        groups.setdefault((r["concept"], r["target"], r["layer"]), []).append(r)
    n_classes = len({r["target"] for r in recs} | {p[1] for p in planned})
    cells = tuple(_summarise(k, v, n_classes) for k, v in groups.items())

    planned = tuple(dict.fromkeys(tuple(p) for p in planned))

    def axis(name: str, i: int | None = None) -> tuple:
        first = [p[i] for p in planned] if i is not None else []
        return tuple(dict.fromkeys(first + [r[name] for r in recs]))

    return TCAVTable(study=study, models=axis("model"), concepts=axis("concept", 0), targets=axis("target", 1),
                     layers=tuple(sorted(axis("layer", 2), key=_depth)), seeds=tuple(sorted(set(axis("seed")))), options=options, cells=cells,
                     n_cells=len(recs) if n_cells is None else int(n_cells), n_finished=len(recs),
                     failed=tuple(failed), cell_seconds=float(cell_seconds), planned=planned)


def stale(study: Study, fingerprints: Mapping[str, str]) -> list:
    """The finished ``tcav`` cells computed from another version of their concept than ``fingerprints`` names
    (concept name -> :func:`xai.concepts.experiment.concept_fingerprint`), or that did not record one.

    A cell is keyed by the concept's name, so a concept rebuilt after a run would otherwise keep its old numbers.
    """
    done = runner.finished(study)
    return [c for c in study.cells if c.kind == "tcav" and c.key in done and c.params["concept"] in fingerprints
            and done[c.key]["result"].get("concept_fingerprint") != fingerprints[c.params["concept"]]]


def build(study: Study, *, fingerprints: Mapping[str, str] | None = None) -> TCAVTable:
    """The table of a study's finished ``tcav`` cells (failed and unrun cells are counted, not guessed); with
    ``fingerprints``, cells of another version of a concept (:func:`stale`) are left out and counted."""
    import json

    cells = [c for c in study.cells if c.kind == "tcav"]
    done = runner.finished(study)
    old = {c.key for c in stale(study, fingerprints)} if fingerprints else set()
    store = runner.Store(study.output)
    records, seconds, options, failed = [], 0.0, {}, []
    for c in cells:
        rec = None if c.key in old else done.get(c.key)
        if rec is None:
            try:
                failed.append((c.title(), json.loads((store.failed / f"{c.key}.json").read_text())["error"]))
            except (OSError, ValueError, KeyError):
                pass
            continue
        options = options or c.params.get("options", {})
        seconds += float(rec.get("seconds") or 0.0)
        for r in rec["result"]["records"]:
            records.append(dict(r, model=c.params["model"], seed=c.params["seed"]))
    planned = [(c.params["concept"], c.params["target"], c.params["layer"]) for c in cells]
    table = from_records(records, study=study.name, options=options, n_cells=len(cells), failed=failed,
                         cell_seconds=seconds, planned=planned)
    return dataclasses.replace(table, n_stale=len(old))


# ------------------------------------------------------------------------------------------------- formatting


def _fmt(table: TCAVTable, concept: str, target: str, layer: str) -> str:
    c = table.cell(concept, target, layer)
    if c is None:
        return "not run" if table.declared(concept, target, layer) else "–"
    if c.mark == NO_CAV:
        return f"no CAV ({c.tested}/{len(c.seeds)})"
    star = f" ★{c.mark}" if c.mark in (PLUS, MINUS) else ""
    rnd = statistics.fmean(c.random_means)
    return f"{c.mean:.2f} ± {c.spread:.2f} (r {rnd:.2f}){star} {c.significant}/{len(c.seeds)}"


def _ours(table: TCAVTable, concept: str, target: str, layer: str, rule: str = "ours") -> str | None:
    c = table.cell(concept, target, layer)
    if c is None:
        return None
    if rule == "paper":
        return c.paper_rule
    return BLANK if c.mark == NO_CAV else c.mark


def agreement(table: TCAVTable, layer: str, *, rule: str = "ours") -> dict:
    """How our marks at ``layer`` compare with the paper's: agreeing, compared, and each disagreement.

    A cell compares when both tables have it (our "no CAV" counts as blank: no claim). ``rule="paper"`` compares
    the marks the paper's own test gives our runs (:func:`paper_test`) instead of ours. Returns
    ``{"agree", "compared", "same_sign", "signed_by_paper", "differ": [(concept, composer, ours, paper)]}``;
    ``same_sign`` counts the cells the paper marks "+"/"−" where ours carries the same mark.
    """
    agree = compared = same = signed = 0
    differ = []
    for ours_name, paper_name in PAPER_CONCEPTS.items():
        for composer, theirs in PAPER[paper_name].items():
            ours = _ours(table, ours_name, composer, layer, rule)
            if ours is None:
                continue
            compared += 1
            agree += ours == theirs
            if theirs:
                signed += 1
                same += ours == theirs
            if ours != theirs:
                differ.append((ours_name, composer, ours, theirs))
    return {"agree": agree, "compared": compared, "same_sign": same, "signed_by_paper": signed, "differ": differ}


def _side_by_side(table: TCAVTable, layer: str, composers: list[str], rule: str) -> list[str]:
    lines = ["| our concept (paper's) | " + " | ".join(composers) + " |", "|---|" + "---|" * len(composers)]
    for ours_name, paper_name in PAPER_CONCEPTS.items():
        row = []
        for comp in composers:
            ours = _ours(table, ours_name, comp, layer, rule)
            theirs = PAPER[paper_name][comp]
            shown = "not run" if ours is None else (ours or "·")
            row.append(f"{shown} / {theirs or '·'}" + (" ✓" if ours == theirs else ""))
        lines.append(f"| {ours_name} ({paper_name}) | " + " | ".join(row) + " |")
    a = agreement(table, layer, rule=rule)
    return lines + ["", f"**Agreement at {layer}: {a['agree']} of {a['compared']} cells** (✓); of the "
                    f"{a['signed_by_paper']} cells the paper marks `+` or `−`, the same mark in {a['same_sign']}."]


def _paper_section(table: TCAVTable, layer: str) -> list[str]:
    composers = [t for t in PAPER["alberti bass"] if t in table.targets]
    if not composers or not any(c in table.concepts for c in PAPER_CONCEPTS):
        return ["The study holds none of the paper's concepts or composers, so there is nothing to compare."]
    lines = [f"Each cell: **ours at {layer}** / the paper's at {PAPER_LAYER} (`+`, `−`, or `·` for blank: not "
             "significant). Ours is `+`/`−` when the score differs significantly from the random sets' in most "
             "seeds, after the correction; \"no CAV\" counts as blank.", ""]
    lines += _side_by_side(table, layer, composers, "ours")
    for other in table.layers:
        if other != layer:
            b = agreement(table, other)
            lines.append(f"At {other}: {b['agree']} of {b['compared']} agree, {b['same_sign']} of "
                         f"{b['signed_by_paper']} signed cells.")
    lines += ["", "### The paper's test on our runs", "",
              "The same runs marked by the paper's own test (`ttest_ind` of the run scores P against 1 − P, "
              f"Bonferroni over our {len(table.targets)} composers, `+` when significant and the mean ≥ 0.5; no "
              "random-against-random null, no CAV-accuracy gate): what our model and concepts say when read the "
              "paper's way. The difference between this table and the one above is the statistics.", ""]
    return lines + _side_by_side(table, layer, composers, "paper")


def _full_section(table: TCAVTable) -> list[str]:
    lines = []
    for layer in table.layers:
        lines += [f"### {layer}", "", "| concept | " + " | ".join(table.targets) + " |",
                  "|---|" + "---|" * len(table.targets)]
        for concept in table.concepts:
            if any(table.declared(concept, t, layer) for t in table.targets):
                lines.append(f"| {concept} | " + " | ".join(_fmt(table, concept, t, layer)
                                                            for t in table.targets) + " |")
        sds = [v for c in table.cells if c.layer == layer for v in c.random_sds if v == v]
        if sds:
            lines += ["", f"The random sets' scores at {layer} spread with a median standard deviation of "
                      f"{statistics.median(sds):.2f}: a concept's score must stand that far out to be told from "
                      "chance."]
        lines.append("")
    return lines


def markdown(table: TCAVTable, *, title: str | None = None, command: str = "", notes: Sequence[str] = (),
             differences: Sequence[str] | None = None) -> str:
    """The table as a markdown page: how it was computed, ours beside the paper's, every cell, the differences.

    ``notes`` are lines for the "how it was computed" section (machine, load, sizing); ``differences`` the
    paragraphs of "where we differ and why" after the list of disagreeing cells (default :data:`DIFFERENCES`).
    """
    differences = DIFFERENCES if differences is None else differences
    o = table.options
    spread = "standard deviation over seeds (over the runs of the one seed where a cell has one)"
    out = [f"# {title or table.study}", ""]
    out += ["## How it was computed", "",
            f"- Study `{table.study}`: {table.n_finished} of {table.n_cells} cells finished; "
            f"{len(table.concepts)} concepts, {len(table.targets)} classes, layers {', '.join(table.layers)}, "
            f"seeds {', '.join(map(str, table.seeds))}; model(s) {', '.join(table.models)}.",
            f"- Each cell is one TCAV experiment (`xai.concepts.experiment.run`, as the TCAV page runs it): "
            f"{o.get('n_runs', '?')} runs of the concept against {o.get('n_random', '?')} random sets of excerpts "
            f"(the null), CAVs fit on {round(100 * (1 - float(o.get('cav_test_fraction', 0.33))))}% and tested on "
            "held-out excerpts of other pieces.",
            f"- Significance: {o.get('correction', 'holm')} correction at α = {o.get('alpha_significance', 0.05)} "
            "over each concept's (class × layer) tests of one seed, only over layers whose CAVs beat random sets' "
            "(as on the TCAV page, where ★ marks a significant cell).",
            f"- A cell reads `mean ± spread (r random) ★mark k/n`: mean TCAV score over seeds, {spread}, the "
            "random sets' mean score (the null's centre), ★+ / ★− when significantly above / below the random sets' score in most seeds, and k of n seeds significant; "
            "`no CAV (k/n)`: the layer's CAVs beat random ones in only k of n seeds, so it is not tested.",
            f"- Compute: {table.cell_seconds / 60:.1f} min of cell time in total."]
    out += [f"- {n}" for n in notes]
    if table.n_stale:
        out.append(f"- {table.n_stale} finished cell(s) were computed from an earlier version of their concept and "
                   "are left out (the command recomputes them).")
    if table.failed:
        out += ["", f"{len(table.failed)} cell(s) did not finish:"] + [f"- {t}: {m}" for t, m in table.failed[:20]]
    deepest = table.layers[-1] if table.layers else ""
    out += ["", "## Ours beside the paper's", ""] + _paper_section(table, deepest)
    out += ["", "## Every cell", ""] + _full_section(table)
    out += ["## Where we differ and why", ""]
    diff = agreement(table, deepest)["differ"] if deepest else []
    if deepest and any(c in table.concepts for c in PAPER_CONCEPTS):
        a, b = agreement(table, deepest), agreement(table, deepest, rule="paper")
        out += [f"Of the {a['signed_by_paper']} cells the paper marks `+` or `−`, the paper's own test on our runs "
                f"at {deepest} gives the same mark in {b['same_sign']}; this product's test (random-set null, "
                f"CAV-accuracy gate, {o.get('correction', 'holm')} correction) in {a['same_sign']}. The scores "
                "often point the paper's way; what changes most is whether they are told apart from chance.", ""]
    if diff:
        out += [f"Cells where our mark at {deepest} differs from the paper's:", ""]
        out += [f"- {c} for {comp}: ours {o_ or '·'}, paper {p or '·'}" for c, comp, o_, p in diff]
        out.append("")
    out += [f"{d}\n" for d in differences]
    if command:
        out += ["## Reproduce", "", f"    {command}", ""]
    return "\n".join(out).rstrip() + "\n"


#: "Where we differ and why": the protocol differences between this table and the paper's (research notes §1.3).
DIFFERENCES: tuple[str, ...] = (
    "**The test.** The paper runs `ttest_ind` of the concept's ten sign-count scores against one \"random\" "
    "column; captum stores binary CAVs as [−w, w], so that column is 1 − P and the test is in effect a one-sample "
    "test of mean(P) = 0.5 with t inflated by √2 and its degrees of freedom doubled (a mean of 0.533 over 10 runs "
    "passes its Bonferroni threshold). Here every cell is tested against the scores of random sets tested exactly "
    "as the concept is (random against random: the null of Kim et al.), runs resample the concept's examples by "
    "piece, and only layers whose CAVs beat random sets' on held-out excerpts are tested. Our blanks are therefore "
    "expected where the paper's test, which is easier to pass, marks `+` or `−`.",
    "**The direction.** The paper's `+`/`−` compares the mean score with 0.5; ours compares it with the random "
    "sets' mean score (the `r` in each cell), which can be far from 0.5 for a class the model is sure or unsure of.",
    "**Power.** Sign-count scores of a deep layer are nearly all-or-nothing: the class gradients of one composer's "
    "excerpts point much the same way, so a random direction, too, scores near 0 or 1 (the null's spread is given "
    "under each layer). A concept's 0.9 is then what several random sets in fifty also reach, and with few scored "
    "excerpts per composer and a correction over every (composer, layer) test of a concept, a score must stand "
    "far out to pass. A blank here says the test cannot tell the concept's direction from a random one for that "
    "composer; it does not say the model ignores the concept.",
    "**CAV accuracy.** The paper fits its CAVs on all 60 examples and reports training accuracy (79,872 features "
    "at ResNet-50's layer4); ours are fit on two thirds of the excerpts and judged on held-out excerpts of other "
    "pieces.",
    "**The concepts.** The paper's concept sets are hand-curated performances (30 excerpts each, partly overlapping "
    "its random sets); ours are excerpts of ASAP scores mined by documented rules (`alberti bass`, `contrapuntal "
    "texture`, and `virtuosic figuration` standing in for its \"difficult to play\": notes per second and hand span, "
    "where the paper picked excerpts of virtuoso works), cut into the model's 20-second windows, with random sets "
    "that never share a piece with the concept.",
    "**The classes.** The paper has 13 composers (MAESTRO); ours 6 (ASAP: Bach, Beethoven, Chopin, Haydn, Liszt, "
    "Schubert). Mozart, for whom the paper reports Alberti bass and counterpoint `+`, is not a class here (4 works "
    "in ASAP are too few to evaluate by work), nor are Scarlatti, Schumann, Brahms, Debussy, Scriabin and "
    "Rachmaninoff. Fewer classes change what a class logit has to separate, so the same concept can matter more or "
    "less for a composer.",
    "**The model and layer.** ResNet-50 on 20-s piano rolls at 20 frames/s without onsets, tested at layer4; ours "
    "is a small CNN (151k parameters) on 20-s rolls at 10 frames/s with an onset-velocity channel and the sustain "
    "pedal, tested at block2-block4; our deepest block stands in for their layer4.",
    "**The split and the scored excerpts.** The paper splits MAESTRO 70/30 by piece and scores every 20-s segment "
    "of one randomly picked (unseeded) performance of each validation piece; ours are held-out excerpts of works "
    "never seen in training (split by work: every performance and movement of a work on one side).",
)

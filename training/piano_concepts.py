"""Build the shipped piano concepts: the rules of :mod:`xai.concepts.piano_miners` over the ASAP scores.

``python -m training.piano_concepts build`` reads the quantised score MIDI of every ASAP folder (the unpacked
archive in the data cache: ``python -m training.asap`` unpacks it), all composers, with bars from the score's own
beat annotations (``midi_score_annotations.txt``: pickups are bar 0). It cuts each score into bar-aligned spans of
about one ``piano_composer`` window (the most bars that last at most 20 s at the score MIDI's tempo, and at least
16 quarters; a new span every 10 s), runs every rule on every span, and keeps per concept up to 40 examples
spread over works: at most 3 per work, never two overlapping spans. Variant folders of one score
(``_no_repeat`` ...) are read once, and the works the shipped model holds out (its card's ``held_out_works``, the
music TCAV scores) are left out, so a concept never shares music with the class excerpts.

Writes ``assets/concepts/builtin_piano.json`` (concept library format; the examples keep the score's tempo map
so the model hears them at the score's tempo) and ``builtin_piano_report.json`` (per concept: the rule,
windows and works found, the composers of the examples: a confound report). ``check`` prints 20 seeded
examples of one concept, bar by bar, for reading them back (``docs/piano_concepts.md``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import mido
import numpy as np

from xai.concepts import library as concepts
from xai.concepts import piano_miners
from xai.symbolic import music

from . import asap

ROOT = Path(__file__).resolve().parent.parent
OUT = concepts.ASSETS
WINDOW_SECONDS = 20.0
HOP_SECONDS = 10.0
MIN_QUARTERS = music.WINDOW_QUARTERS  # the library's shortest usable example
MIN_SECONDS = 12.0  # a span shorter than this (the end of a piece) is not a window
MIN_NOTES = 8
PER_CONCEPT = 40
PER_WORK = 3
SEED = 20240614
CHECK_N = 20
CHECKS = "piano_checks"  # one reading-check file per concept (see reading_check)
REPORT = "builtin_piano_report.json"


def scores(root: Path | None = None, *, skip_works: set[str] = frozenset()) -> list[dict]:
    """One entry per ASAP score folder (variants of a folder read once): composer, folder, work and piece."""
    root = asap.data_root(asap.unpack()) if root is None else root
    with open(root / "metadata.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    folders = {r["folder"]: r for r in rows}
    out = []
    for folder, r in sorted(folders.items()):
        base = asap.VARIANT_SUFFIX.sub("", folder)
        work = asap.work_id(folder)
        if (base != folder and base in folders) or work in skip_works or not (root / r["midi_score"]).exists():
            continue
        midi = root / r["midi_score"]
        out.append({"composer": r["composer"], "folder": folder, "work": work,
                    "sha256": hashlib.sha256(midi.read_bytes()).hexdigest(),
                    "piece": load_score(midi, root / r["midi_score_annotations"], folder)})
    return out


def load_score(midi: Path, annotations: Path, title: str) -> music.Piece:
    """A score MIDI file with its bars from its beat annotations (rounded to a 48th of a quarter)."""
    piece = music.from_midi(mido.MidiFile(file=io.BytesIO(midi.read_bytes())), title=title)
    if annotations.exists():
        piece = music.with_annotations(piece, annotations.read_text(encoding="utf-8"))
        piece = replace(piece, bar_starts=np.round(piece.bar_starts * 48) / 48)
    return replace(piece, title=f"{title.replace('_', ' ')} (ASAP score)")


def spans(piece: music.Piece) -> list[tuple[float, float]]:
    """Bar-aligned (start, end) beats of about one model window, a new one every 10 s (see the module)."""
    bars = np.append(piece.bar_starts, max(piece.length, piece.bar_starts[-1]))
    sec = np.asarray(piece.seconds(bars), dtype=float)
    out, i = [], 0
    while i < bars.size - 1:
        j = i + 1
        while j + 1 < bars.size and (sec[j + 1] - sec[i] <= WINDOW_SECONDS or bars[j] - bars[i] < MIN_QUARTERS):
            j += 1
        # At most window + hop seconds: the model then reads the span as one window (at very slow tempi 16
        # quarters last longer, and such a span is skipped).
        if bars[j] - bars[i] >= MIN_QUARTERS - 1e-6 and MIN_SECONDS <= sec[j] - sec[i] < WINDOW_SECONDS + HOP_SECONDS:
            out.append((float(bars[i]), float(bars[j])))
        nxt = int(np.searchsorted(sec, sec[i] + HOP_SECONDS - 1e-6))
        i = max(nxt, i + 1)
    return out


def scan(pieces: list[dict], *, progress=print) -> tuple[dict, Counter]:
    """Every rule over every span: ({concept: [(score index, start, end)]}, spans scanned per composer)."""
    hits: dict[str, list] = {name: [] for name in piano_miners.PIANO_MINERS}
    scanned: Counter = Counter()
    t0 = time.time()
    for n, s in enumerate(pieces):
        for a, b in spans(s["piece"]):
            ex = s["piece"].slice(a, b)
            if ex.n_notes < MIN_NOTES:
                continue
            scanned[s["composer"]] += 1
            for name, (rule, _) in piano_miners.PIANO_MINERS.items():
                if rule(ex):
                    hits[name].append((n, a, b))
        if (n + 1) % 50 == 0:
            progress(f"scanned {n + 1}/{len(pieces)} scores, {sum(scanned.values())} spans, {time.time() - t0:.0f} s")
    return hits, scanned


def pick(found: list, pieces: list[dict], *, rng: np.random.Generator, n: int = PER_CONCEPT) -> list:
    """Up to ``n`` hits spread over works: one from each work in a random order, then a second, ...; at most
    :data:`PER_WORK` per work, never two overlapping spans of one score."""
    by_work = defaultdict(list)
    for hit in found:
        by_work[pieces[hit[0]]["work"]].append(hit)
    chosen = {}
    for w, hs in by_work.items():
        mine = []
        for k in rng.permutation(len(hs)):
            i, a, b = hs[k]
            if all(i != j or b <= c0 + 1e-9 or a >= c1 - 1e-9 for j, c0, c1 in mine):
                mine.append(hs[k])
            if len(mine) == PER_WORK:
                break
        chosen[w] = mine
    order = [sorted(by_work)[k] for k in rng.permutation(len(by_work))]
    out = []
    for r in range(PER_WORK):
        out.extend(chosen[w][r] for w in order if r < len(chosen[w]))
    return out[:n]


def example(s: dict, a: float, b: float, name: str) -> concepts.Example:
    """The span as a library example: cited by the ASAP folder and bars, identified by its work."""
    ex = concepts.Example.from_span(s["piece"], a, b, label=f"found by the '{name}' rule", origin="builtin")
    return replace(ex, title=f"{s['composer']}: {s['piece'].title}", source_name=s["work"],
                   source_sha256=s["sha256"])


def build_concepts(pieces: list[dict], hits: dict) -> tuple[list, dict]:
    """One concept per rule from its hits; returns (concepts, report)."""
    out, report = [], {}
    for k, (name, (_, rule)) in enumerate(piano_miners.PIANO_MINERS.items()):
        rng = np.random.default_rng([SEED, k])
        chosen = pick(hits[name], pieces, rng=rng)
        examples = list(concepts.dedupe([example(pieces[i], a, b, name) for i, a, b in chosen])[0])
        composers = Counter(pieces[i]["composer"] for i, _, _ in chosen)
        concept = concepts.Concept(
            name=name, description=rule, examples=tuple(examples), origin="builtin", author="miner",
            created=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            metadata={"miner": f"xai.concepts.piano_miners.{name.replace(' ', '_')}", "data": "ASAP score MIDI",
                      "seed": SEED, "window_seconds": WINDOW_SECONDS, "composer_counts": dict(composers)})
        shipped = len(examples) >= concepts.MIN_EXAMPLES
        if shipped:
            out.append(concepts.check_usable(concept))
        report[name] = {
            "rule": rule,
            "windows_found": len(hits[name]),
            "works_found": len({pieces[i]["work"] for i, _, _ in hits[name]}),
            "found_by_composer": dict(Counter(pieces[i]["composer"] for i, _, _ in hits[name])),
            "examples": len(examples),
            "example_works": len({e.source_name for e in examples}),
            "examples_by_composer": dict(composers),
            "shipped": shipped,
        }
    return out, report


def build(out: Path = OUT, *, progress=print) -> dict:
    """Write builtin_piano.json and its report under ``out``; return the report."""
    card = json.loads((ROOT / "assets" / "models" / "piano_composer.json").read_text(encoding="utf-8"))
    held = set(card["split"]["held_out_works"].values())
    t0 = time.time()
    pieces = scores(skip_works=held)
    progress(f"read {len(pieces)} scores in {time.time() - t0:.0f} s")
    hits, scanned = scan(pieces, progress=progress)
    built, report = build_concepts(pieces, hits)
    out.mkdir(parents=True, exist_ok=True)
    (out / concepts.PIANO_FILE).write_text(concepts.dumps(built), encoding="utf-8")
    checks = reading_check(out / CHECKS)
    full = {"made_by": "python -m training.piano_concepts build", "seed": SEED, "data": "ASAP score MIDI (quantised)",
            "left_out_works": sorted(held), "scores": len(pieces), "spans_by_composer": dict(scanned),
            "concepts": report, "reading_check": checks}
    (out / REPORT).write_text(json.dumps(full, indent=1), encoding="utf-8")
    return full


# ----------------------------------------------------------------------------------------- reading check


def reading_check(folder: Path) -> dict:
    """Each concept's reading check, summed up from its file in ``folder`` (``piano_checks/<concept>.json``).

    The files hold the verdict on every example read; the report carries the counts, the rule version they
    were read under and who read them, so the confirmed share travels with the shipped examples.
    """
    out = {}
    for f in sorted(Path(folder).glob("*.json")):
        d = json.loads(f.read_text(encoding="utf-8"))
        out[d["concept"]] = {k: d.get(k) for k in ("n_checked", "n_confirmed", "rule_version", "checked_by", "date")}
        out[d["concept"]]["failures"] = [f"{e.get('citation')}: {e.get('why')}" for e in d.get("examples", [])
                                         if not e.get("confirmed")]
    return out


def _name(p: int) -> str:
    return music.note_name(int(p))


def describe(e: concepts.Example, name: str) -> str:
    """An example's notes, bar by bar: left and right hand, each note as pitch@onset:duration in beats of the
    bar, and the bars where the rule fired marked with '*'."""
    piece = e.to_piece()
    lh = piano_miners.left_hand(piece)
    hit_bars = {piece.bar_at(t) for t in piano_miners.evidence(name, piece)}
    bars = np.append(piece.bar_starts, piece.length)
    lines = [f"== {e.citation} [{e.source_name}] tempo {piece.tempi[0][1]:.0f} qpm"]
    for k in range(bars.size - 1):
        b0, b1 = bars[k], bars[k + 1]
        row = []
        for mask, hand in ((lh, "L"), (~lh, "R")):
            sel = np.flatnonzero(mask & (piece.onsets >= b0 - 1e-6) & (piece.onsets < b1 - 1e-6))
            sel = sel[np.lexsort((piece.pitches[sel], piece.onsets[sel]))]
            notes = " ".join(f"{_name(piece.pitches[i])}@{piece.onsets[i] - b0:g}:{piece.durations[i]:.3g}"
                             for i in sel)
            row.append(f"{hand}: {notes}")
        mark = "*" if piece.bar_numbers[k] in hit_bars else " "
        lines.append(f"{mark}{piece.bar_numbers[k]:>4d} " + " | ".join(row))
    return "\n".join(lines)


def _around(lines: list[str], k: int) -> list[str]:
    """The header and the bar lines within ``k`` bars of a bar where the rule fired ('*'), gaps shown as '...'."""
    head, rows = lines[:1], lines[1:]
    hits = [i for i, r in enumerate(rows) if r.startswith("*")]
    keep = sorted({j for i in hits for j in range(max(0, i - k), min(len(rows), i + k + 1))})
    out, last = list(head), -1
    for j in keep:
        if last >= 0 and j > last + 1:
            out.append("   ...")
        out.append(rows[j])
        last = j
    return out


def check(name: str, *, n: int = CHECK_N, bars: int | None = None, around: int | None = None) -> str:
    """``n`` examples of the shipped concept ``name`` (seeded), described for reading.

    ``bars`` prints only the first bars of each example; ``around`` only the bars within that many bars of
    where the rule fired, which is what a reader checks.
    """
    c = concepts.builtin(OUT / concepts.PIANO_FILE)[name]
    rng = np.random.default_rng([SEED, 99])
    idx = sorted(rng.choice(c.n_examples, size=min(n, c.n_examples), replace=False))
    out = []
    for k in idx:
        text = describe(c.examples[k], name).split("\n")
        text = _around(text, around) if around is not None else text
        out.append("\n".join(text if bars is None else text[:bars + 1]) + f"\n(example {k})")
    return "\n".join(out)


def main(argv=None) -> int:
    """``build`` the shipped piano concepts, or ``check`` one of them by printing its examples."""
    ap = argparse.ArgumentParser(prog="python -m training.piano_concepts")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="mine the ASAP scores and write builtin_piano.json and its report")
    b.add_argument("--out", type=Path, default=OUT)
    c = sub.add_parser("check", help="print 20 seeded examples of a concept, bar by bar")
    c.add_argument("concept")
    c.add_argument("--bars", type=int, default=None, help="print only the first BARS bars of each example")
    c.add_argument("--around", type=int, default=None,
                   help="print only the bars within AROUND bars of where the rule fired")
    args = ap.parse_args(argv)
    if args.cmd == "check":
        print(check(args.concept, bars=args.bars, around=args.around))
        return 0
    t0 = time.time()
    report = build(args.out)
    for name, r in report["concepts"].items():
        print(f"{name:24s} found {r['windows_found']:5d} in {r['works_found']:3d} works; kept {r['examples']:2d} "
              f"from {r['example_works']:2d} works: {r['examples_by_composer']}")
    print(f"spans by composer: {report['spans_by_composer']}; done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

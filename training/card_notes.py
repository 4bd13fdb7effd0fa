"""Write what the audio models' training audio means for real recordings into their cards: ``python -m
training.card_notes``.

Text only: the ``limitations`` field of ``assets/models/<name>.json`` and a section of ``<name>.md`` (replaced
when it is there, so the command can run again). Weights and ``weights_sha256`` are never touched. The numbers
come from shipped assets, recomputed here: the held-out-soundfont accuracy already in the card, the
out-of-distribution calibration (``assets/ood``, :mod:`training.ood`), retrieval measured out of sample and the
soundfont share of nearest neighbours (:mod:`xai.recommender.heldout`, on ``assets/hubness``) and, for the
mid-level model, the bottleneck's feature accuracy (:mod:`xai.audio.bottleneck`).
"""

from __future__ import annotations

import json

import numpy as np
import torch

from models import registry
from training import train_audio
from xai._paths import ASSETS
from xai.audio import bottleneck, ood
from xai.errors import InputError
from xai.recommender import embeddings, heldout

AUDIO = ("instrument", "instrument_conv", "instrument_learnable", "style_audio", "style_midlevel",
         "style_adversarial")
MARK = train_audio.LIMITS_MARK
_NOT_MUSIC = ("white noise", "pink noise", "steady sine (110-880 Hz)", "clicks", "faint noise (-55 dBFS)")


def _pct(d: dict) -> str:
    return f"{d['flagged']:.0%} ({d['k']} of {d['n']}; 95 % CI {d['ci95'][0]:.0%}–{d['ci95'][1]:.0%})"


def _ood_text(name: str) -> str:
    cal = ood.load(name)
    if cal is None:
        return ("No out-of-distribution indicator is calibrated for this model (its embedding is not in the shipped "
                "recommender collection), so the Listen page cannot say when a recording is unlike its training "
                "audio.")
    m = cal.measured
    held = next(v for k, v in m.items() if "held out" in k)
    ex = "; ".join(f"{t.split(':')[0]} {'outside' if e['outside'] else 'inside'} ({e['distance']:.1f})"
                   for t, e in m.get("examples", {}).items())
    sounds = "; ".join(f"{k} {_pct(v)}" for k, v in m.items()
                       if isinstance(v, dict) and "flagged" in v and k in _NOT_MUSIC)
    missed = [k for k, v in m.items() if isinstance(v, dict) and v.get("flagged", 1) < 0.5 and k in _NOT_MUSIC]
    signal = m.get("music test clips called not music by the signal check")
    check = (" A model-free signal check (spectral flatness for noise, one steady spectral peak for a tone) also calls "
             f"a recording outside when most of it is not music; it calls {_pct(signal)} of the music test clips "
             "not music." if signal else "")
    alone = "; ".join(f"{k} {v['by_distance_alone']} of {v['n']}" for k, v in m.items()
                      if isinstance(v, dict) and "by_distance_alone" in v and k in _NOT_MUSIC)
    return (f"Out-of-distribution indicator (Mahalanobis distance in the embedding, Lee et al. 2018): limit "
            f"{cal.threshold:.1f}, set at the 95 % quantile of {m['threshold_set_on']}. Called outside: clips of "
            f"the held-out soundfont (other half) {_pct(held)}; test clips of the training soundfonts "
            f"{_pct(m['training soundfonts, test clips'])}; sounds that are not music, 5 windows each: {sounds}."
            + check + (f" The distance alone would flag: {alone}." if alone else "")
            + f" Shipped examples: {ex}. It misses what lies near the training audio in the embedding"
            + (f" ({', '.join(missed)} here)" if missed else "") + ", so 'inside' means familiar, never correct.")


def _retrieval_text(name: str, card: dict | None = None) -> str:
    try:
        emb = embeddings.load(name)
    except InputError:  # a model outside the shipped collection simply has no such numbers
        return ""
    made_with = embeddings.parameters().get("weights_sha256", {}).get(name)
    if card is not None and made_with and made_with != card.get("weights_sha256"):
        return ("The recommender collection (assets/hubness) was embedded with earlier weights of this model; its "
                "retrieval numbers describe those weights, not these, until `python -m xai embeddings --reembed "
                f"{name}` is run again.")
    r = {row["protocol"]: row for row in heldout.evaluate(emb, k=10).table()}
    m = emb.meta
    test, train = m["split"] == 2, m["split"] == 0
    sf = np.asarray(m["soundfont"]).astype(int)
    _, same_sf, _ = heldout.knn_outcomes(emb.vectors[test], emb.vectors[train], sf[test], sf[train], 10)
    i, t = r["in_sample"], r["train"]
    own = card is None or int(card.get("data_version") or 1) == 1  # the collection is data version 1's clips
    kind = "training clips" if own else ("clips of its training pieces, rendered by the two-soundfont data it was "
                                         "not trained on")
    return (f"In its embedding (k = 10): k-NN accuracy {i['knn_accuracy']:.3f} in sample (every item against the "
            f"rest; {m['split'].size} items, {float(np.mean(train)):.0%} {kind}) but {t['knn_accuracy']:.3f} (95 % CI "
            f"{t['knn_accuracy_ci95'][0]:.3f}–{t['knn_accuracy_ci95'][1]:.3f}, n = {t['queries']}) for held-out "
            f"clips against the training clips; {float(same_sf.mean()):.0%} of a held-out clip's 10 nearest "
            f"training clips share its soundfont (chance 50 %): the embedding also encodes the sound source.")


def _midlevel_text() -> str:
    model, emb = registry.load("style_midlevel"), embeddings.load("style_midlevel")
    m = emb.meta
    test = m["split"] == 2
    net = model.net.eval()
    with torch.inference_mode():
        pred = (net.to_midlevel(torch.from_numpy(emb.vectors[test])) * net.mid_std + net.mid_mean).numpy()
    fa = bottleneck.feature_accuracy(pred, m["midlevel"][test], m["instrument"][test], list(m["midlevel_names"]))
    rows = "; ".join(f"{r['feature']} r = {r['r']:.2f} [{r['r_ci95'][0]:.2f}, {r['r_ci95'][1]:.2f}], within "
                     f"instruments {r['r_within_instrument']:.2f}, instrument explains {r['instrument_share']:.0%}"
                     for r in fa.table())
    weak = [r["feature"].replace("_", " ") for r in fa.table() if r["r"] < 0.3]
    reg = next((r for r in fa.table() if r["feature"] == "register"), None)
    text = (f"Bottleneck feature accuracy on held-out clips (n = {fa.n}; Pearson r, Fisher 95 % CI; r within "
            f"instruments after centring on each instrument's mean): {rows}.")
    if reg is not None and reg["instrument_share"] > 0.5:
        text += (f" Register is mostly the instrument's range (the instrument explains {reg['instrument_share']:.0%} "
                 "of it: excerpts are moved by octaves into each instrument's range), so a claim about register "
                 "holds only within an instrument.")
    if weak:
        names = weak[0] if len(weak) == 1 else ", ".join(weak[:-1]) + " and " + weak[-1]
        text += f" {names.capitalize()} {'is' if len(weak) == 1 else 'are'} barely learned (r < 0.3) " \
                f"and carr{'ies' if len(weak) == 1 else 'y'} no claim."
    return text


def _five_soundfont_text(card: dict) -> str:
    """What rendered audio means for a model trained on the five-soundfont data set (card ``data_version`` 2)."""
    t, lo = card["metrics"]["test"], card.get("loso")
    text = ("Training audio is rendered, not recorded: MIDI excerpts of corpus scores played through five General "
            "MIDI soundfonts (timgm6mb, merlin, fluidr3, musescore, csound), with speed changes, synthetic rooms, EQ "
            "tilts, band limits, background noise and gain. The test clips are new passages played by those same "
            f"five sound sources ({t['accuracy']:.3f}, n = {t.get('n', '?')}).")
    if lo:
        h, i, g = lo["heldout_accuracy"], lo["in_soundfont_accuracy"], lo["gap_points"]
        recipe = "same recipe" if lo.get("same_recipe", True) else "an earlier recipe with fewer clips"
        text += (f" Trained on four soundfonts and tested on the fifth (leave-one-soundfont-out, {recipe}), it "
                 f"scores {h['mean']:.3f} +- {h['std']:.3f} on the unheard soundfont against {i['mean']:.3f} +- "
                 f"{i['std']:.3f} on the heard ones: a gap of {g['mean']:.1f} points (goal at most {g['goal']:g})"
                 + (f", within the goal in {g['folds_within_goal']} of {len(g['per_fold'])} folds" if "per_fold" in g
                    else "") + ".")
    return text + (" Real recordings (players' timing and vibrato, real rooms and microphones, several instruments "
                   "at once, instruments outside the ten classes) lie further from the training audio than another "
                   "soundfont does and were not measured: no recorded test set exists here.")


def _style_text(test: dict) -> str:
    """What style from audio means here, with the per-clip accuracy and the weakest class's F1."""
    f1 = test.get("per_class_f1", {})
    weakest = min(f1, key=f1.get) if f1 else None
    return ("Style from audio: the instrument was chosen independently of the style, so the model must hear style "
            f"through any instrument; per clip {test['accuracy']:.3f}"
            + (f", weakest class {weakest} (F1 {f1[weakest]:.2f})." if weakest else "."))


def notes(name: str, card: dict) -> str:
    """The limitations text of one audio model's card."""
    h = card["metrics"].get("test_heldout_soundfont", {})
    t = card["metrics"]["test"]
    if card.get("data_version", 1) >= 2:
        parts = [_five_soundfont_text(card)]
        if card.get("task") == "style":
            parts.append(_style_text(t))
        parts += [p for p in (_ood_text(name), _retrieval_text(name, card)) if p]
        if name == "style_midlevel":
            parts.append(_midlevel_text())
        return " ".join(parts)
    parts = [
        "Training audio is rendered, not recorded: MIDI excerpts of corpus scores played through two General MIDI "
        "soundfonts (timgm6mb, merlin), with synthetic rooms, tone filters, noise and gain. Test clips reuse "
        "those soundfonts' samples, so the test accuracy "
        f"({t['accuracy']:.3f}, n = {t.get('n', '?')}) measures new passages played by familiar sounds. On the "
        f"soundfont held out of training ({h.get('soundfont', 'fluidr3')}) it is {h.get('accuracy', float('nan')):.3f} "
        f"(n = {h.get('n', '?')}). Real recordings (players, rooms, microphones, instruments the soundfonts only "
        "imitate) lie further from the training audio than a third soundfont does, and were not measured: no "
        "recorded test set exists here.",
    ]
    if card.get("task") == "style":
        parts.append(_style_text(t))
    parts += [p for p in (_ood_text(name), _retrieval_text(name, card)) if p]
    if name == "style_midlevel":
        parts.append(_midlevel_text())
    return " ".join(parts)


def write(name: str) -> str:
    """Set the card's ``limitations`` text and its markdown section; returns the text."""
    jpath, mpath = ASSETS / "models" / f"{name}.json", ASSETS / "models" / f"{name}.md"
    card = json.loads(jpath.read_text())
    before = {k: card[k] for k in ("weights_sha256",) if k in card}
    text = notes(name, card)
    card["limitations"] = text
    assert {k: card[k] for k in before} == before  # never the weights' identity
    jpath.write_text(json.dumps(card, indent=1))
    md = mpath.read_text()
    section = train_audio.limitations_section(text)
    if MARK in md:
        head, _, rest = md.partition(MARK)
        tail = rest.split("\n## ", 1)
        md = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    elif "## Reproduce" in md:
        head, _, rest = md.partition("## Reproduce")
        md = head + section + "\n## Reproduce" + rest
    else:
        md = md.rstrip("\n") + "\n\n" + section
    mpath.write_text(md)
    return text


def main(argv=None) -> int:
    """Command line: write the notes of the audio models named (default: every one)."""
    import sys

    names = (sys.argv[1:] if argv is None else list(argv)) or list(AUDIO)
    torch.set_num_threads(1)
    for name in names:
        print(f"{name}: {write(name)[:120]}…")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

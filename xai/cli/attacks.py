"""``python -m xai attack | robustness | veracity``: adversarial examples from the command line.

* ``attack FILE --model NAME --method fgsm|pgd|cw [--target CLASS] [--epsilon E] [--out adv.wav]`` attacks one
  4-s window of a recording and prints {"original", "adversarial", "success", "snr_db", "linf", "iterations", ...}.
* ``robustness`` precomputes the robustness study (accuracy vs epsilon, SNR at success, paired tests) for the
  style models and the instrument model's targeted attacks, into assets/adversarial/ (needs the audio cache).
* ``veracity`` measures whether LIME finds an adversarial perturbation in the paper's settings (whole input,
  planted in k segments, planted with a decoy), on test clips from the audio cache or re-rendered from
  ``assets/hubness``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from models import registry
from xai._paths import ASSETS
from xai.attacks import notes as sym
from xai.attacks import robustness, veracity
from xai.attacks import waveform as adv
from xai.audio import clip as audio
from xai.audio import dataset as audio_data
from xai.contract import resolve_target
from xai.errors import ParameterError
from xai.recommender import embeddings
from xai.symbolic import io, music

__all__ = ["add_commands", "test_clips"]

ASSETS = ASSETS / "adversarial"


def _attack(args) -> dict:
    audio_models = registry.available("audio")
    if args.model not in audio_models:
        raise ParameterError(f"The model '{args.model}' does not read recordings; use --model with one of: "
                             f"{', '.join(audio_models) or '(none installed)'}.")
    model = registry.load(args.model)
    target = resolve_target(args.target, model.classes) if args.target else None
    opt = adv.AttackOptions.for_method(args.method, epsilon=args.epsilon, target=target, steps=args.steps,
                                       lr=args.lr, alpha=args.alpha, spectral=args.spectral,
                                       random_start=args.random_start, random_state=args.random_state,
                                       stop_early=args.stop_early)
    true = resolve_target(args.true, model.classes) if args.true else None
    clip = audio.load_audio(args.file)
    res = adv.attack_clip(clip.waveform, model, opt, start_seconds=args.start, true_label=true)
    out = res.summary()
    if args.out:
        Path(args.out).write_bytes(audio.to_wav_bytes(res.adversarial))
        out["wav"] = str(args.out)
    return out


def _print_attack(r: dict) -> None:
    goal = f"target {r['target']}" if r["target"] else "any other class"
    verdict = "succeeded" if r["success"] else "failed"
    snr = "inf" if r["snr_db"] is None else f"{r['snr_db']:.1f}"
    print(f"{r['model']}: {r['original']} -> {r['adversarial']} ({goal}; {verdict}) at {snr} dB SNR, "
          f"max |delta| {r['linf']:.2g}, {r['iterations']} steps")
    if r.get("note"):
        print(f"  {r['note']}")
    n = r.get("noise_control") or {}
    if n:
        print(f"  white noise at the same SNR: {n['label']} (answer changed in {n['changed_fraction']:.0%} of "
              f"{n['repeats']} draws)")
    if r.get("wav"):
        print(f"  adversarial recording written to {r['wav']}")


def _attack_notes(args) -> dict:
    model = registry.load(args.model)
    piece = io.load(args.file)
    try:
        first, last = (int(b) for b in args.bars.split("-"))
    except ValueError as e:
        raise ParameterError(f"Give the bars as FIRST-LAST, e.g. 1-4, not '{args.bars}'.") from e
    a, b = piece.bar_range(first, last)
    excerpt = piece.slice(a, b)
    target = resolve_target(args.target, model.classes) if args.target else None
    res = sym.attack_piece(excerpt, model, target=target, max_edits=args.max_edits, pitches=args.pitches)
    out = res.summary() | {"bars": [first, last]}
    if piece.performed:  # a performance's edits are cited by clock time, from the excerpt's start
        out |= {"start_second": round(float(piece.seconds(a)), 3), "end_second": round(float(piece.seconds(b)), 3),
                "bars_known": bool(piece.bars_known)}
    if args.out:
        Path(args.out).write_bytes(music.to_midi_bytes(res.adversarial))
        out["midi"] = str(args.out)
    return out


def _print_attack_notes(r: dict) -> None:
    verdict = "changed" if r["success"] else "not changed"
    span = f"bars {r['bars'][0]}-{r['bars'][1]}"
    if "start_second" in r:
        clock = f"{r['start_second']:.1f}-{r['end_second']:.1f} s"
        span = f"{span} ({clock})" if r["bars_known"] else f"{clock} (bars {r['bars'][0]}-{r['bars'][1]} of the " \
            "file's nominal metre)"
        span += "; edit times from the excerpt's start"
    print(f"{r['model']}, {span} ({r['n_notes']} notes): {r['original']} -> "
          f"{r['adversarial']} ({verdict}) with {r['n_edits']} edit(s)")
    for e in r["edits"]:
        print(f"  {e['text']}")


def _robustness(args) -> dict:
    def progress(f, m):
        print(f"{f:4.0%} {m}", file=sys.stderr)

    out = Path(args.out) if args.out else ASSETS
    return robustness.run_study(n_clips=args.clips, n_instrument=args.instrument_clips,
                                n_targeted=args.targeted_clips, steps=args.steps,
                                random_state=args.random_state, out_dir=out, progress=progress)


def _print_robustness(r: dict) -> None:
    for name, m in r["style"]["models"].items():
        acc = ", ".join(f"{e:g}: {a:.2f}" for e, a in zip(r["style"]["epsilons"], m["accuracy"]))
        print(f"{name}: accuracy by epsilon {acc}; median SNR at success {m['median_snr_at_success']}")
    for t in r["style"]["paired_tests"]:
        print(f"  {t['a']} vs {t['b']} at eps {t['epsilon']:g}: McNemar p={t['mcnemar_p']:.3g}; "
              f"Wilcoxon (min eps to flip) p={t['wilcoxon_p']}")
    ins = r.get("instrument")
    if ins:
        print(f"instrument: clean {ins['clean_accuracy']:.2f}; " + ", ".join(
            f"eps {e['epsilon']:g}: acc {e['accuracy']:.2f} at {e['mean_snr_db']:.1f} dB" for e in ins["untargeted"]))
        print("  targeted success by class: " + ", ".join(f"{c} {v:.2f}" for c, v in
                                                          ins["targeted"]["success_by_class"].items()))


def _robustness_seeds(args) -> dict:
    def progress(f, m):
        print(f"{f:4.0%} {m}", file=sys.stderr)

    out = Path(args.out) if args.out else ASSETS
    return robustness.run_seed_study(n_clips=args.clips, steps=args.steps, random_state=args.random_state,
                                     out_dir=out, progress=progress)


def _print_robustness_seeds(r: dict) -> None:
    print(f"{r['n_clips']} test clips, training seeds {r['parameters']['seeds']}")
    for kind, k in r["kinds"].items():
        acc = k["accuracy"]
        print(f"{kind}: " + ", ".join(f"eps {e:g}: {m:.2f} [{lo:.2f}, {hi:.2f}]"
                                      for e, m, (lo, hi) in zip(r["epsilons"], acc["mean"], acc["ci95"])))
    for t in r["paired_tests"]:
        print(f"  {t['a']} vs {t['b']} at eps {t['epsilon']:g}: {t['accuracy_a']:.2f} vs {t['accuracy_b']:.2f}, "
              f"Wilcoxon p (Holm) {t['wilcoxon_p_holm']:.3g}; better in {t['seeds_a_better']}/{t['n_seeds']} vs "
              f"{t['seeds_b_better']}/{t['n_seeds']} seeds")


def test_clips(n: int, *, model_name: str = "instrument") -> tuple[np.ndarray, list[int], str]:
    """``n`` test clips spread evenly over the test split: (waveforms, ids, where they come from).

    From the audio cache when it is there; otherwise rendered again from the shipped recommender collection
    (``assets/hubness``), whose items keep every clip's notes, instrument, tempo and augmentation seed: the test
    clips rendered with TimGM6mb (always on this machine) come back exactly, up to 16-bit rounding.
    """
    try:
        data = audio_data.load("test")
        idx = np.unique(np.linspace(0, len(data) - 1, min(n, len(data))).round().astype(int))
        return data.waveform(idx), [int(i) for i in idx], "the audio cache's test split (evenly spaced)"
    except FileNotFoundError:
        emb = embeddings.load(model_name if model_name in embeddings.names() else "instrument")
        m = emb.meta
        pool = np.flatnonzero((m["split"] == embeddings.SPLITS.index("test")) &
                              (m["soundfont"] == list(m["soundfont_names"]).index("timgm6mb")))
        idx = pool[np.unique(np.linspace(0, pool.size - 1, min(n, pool.size)).round().astype(int))]
        waves = np.stack([embeddings.clip_waveform(emb, int(i))[0] for i in idx])
        return waves, [int(i) for i in idx], ("test-split clips rendered with TimGM6mb, re-rendered exactly from the "
                                              "recommender collection (assets/hubness; ids are its item numbers)")


def _veracity(args) -> dict:
    def progress(f, m):
        print(f"{f:4.0%} {m}", file=sys.stderr)

    out = Path(args.out) if args.out else ASSETS
    opts = veracity.VeracityOptions(k=args.k, samples=args.samples, random_state=args.random_state)
    clips, ids, source = test_clips(args.clips, model_name=args.model)
    command = (f"nice -n 10 python -m xai veracity --model {args.model} --clips {args.clips} --k {args.k} "
               f"--samples {args.samples} --seed {args.random_state}")
    return veracity.run_study(clips, registry.load(args.model), opts, clip_ids=ids, source=source,
                              command=command, out_dir=out, progress=progress)


def _print_veracity(r: dict) -> None:
    p = r["parameters"]
    print(f"{p['model']}, {p['n_clips']} clips, k={p['k']}, {p['samples']} LIME samples; flip rates [95 % CI]:")
    for s in r["summaries"].values():
        rates = ", ".join(f"{name} {v['rate']:.0%} [{v['ci95'][0]:.0%}, {v['ci95'][1]:.0%}]"
                          for name, v in (("LIME", s["lime_flip"]), ("energy", s["energy_flip"]),
                                          ("random", s["random_flip"])) if v["rate"] is not None)
        print(f"  {s['setting']}: n = {s['n']}; {rates or 'no successful attack'}")


def _seed_flag(p) -> None:
    p.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0, help="seed (default 0)")


def add_commands(sub) -> None:
    """Add ``attack``, ``attack-notes``, ``robustness`` and ``veracity`` to the CLI.

    The attack's flags come from :class:`xai.attacks.waveform.AttackOptions`; those whose default depends on the
    method (epsilon, steps, lr, alpha) default to None = the method's own.
    """
    p = sub.add_parser("attack", help="attack a recording's 4-s window on the waveform (FGSM, PGD, C&W)")
    p.add_argument("file", help="a recording (.wav/.flac/.ogg/.mp3)")
    p.add_argument("--model", default="instrument", help="an audio model (default instrument)")
    p.add_argument("--target", metavar="CLASS", help="class name or index to reach (default: any other class)")
    per_method = ("epsilon", "steps", "lr", "alpha")
    adv.AttackOptions.add_arguments(p, skip=("target", "random_state", *per_method))
    for s in adv.AttackOptions.spec():
        if s["name"] in per_method:
            p.add_argument("--" + s["name"], type=float if s["type"] == "float" else int, default=None,
                           help=f"{s['help']} Default per method.")
    p.add_argument("--start", type=float, default=0.0, metavar="SECONDS", help="start of the 4-s window")
    p.add_argument("--true", metavar="CLASS", help="the clip's real class, if known (an attack on a clip the model "
                   "already gets wrong is not needed)")
    _seed_flag(p)
    p.add_argument("--out", metavar="FILE.wav", help="write the adversarial window as WAV")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_attack, show=_print_attack)

    p = sub.add_parser("attack-notes", help="the fewest whole-note insertions/deletions that change a symbolic "
                       "model's answer for some bars (composer, or piano_composer on its 20-s windows)")
    p.add_argument("file", help="MIDI, MusicXML, ABC or Humdrum file")
    p.add_argument("--model", default="composer")
    p.add_argument("--bars", default="1-4", help="FIRST-LAST bars of the excerpt (default 1-4)")
    p.add_argument("--target", metavar="CLASS", help="class to reach (default: any other class)")
    p.add_argument("--max-edits", type=int, default=8, metavar="N")
    p.add_argument("--pitches", choices=("piece", "chromatic"), default="piece",
                   help="inserted notes use the piece's pitch classes (default) or any pitch")
    p.add_argument("--out", metavar="FILE.mid", help="write the edited bars as MIDI")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_attack_notes, show=_print_attack_notes)

    p = sub.add_parser("robustness", help="precompute the robustness study of the audio models (needs the audio "
                       "cache) into assets/adversarial/")
    p.add_argument("--clips", type=int, default=48, metavar="N", help="test clips for the style models (default 48)")
    p.add_argument("--instrument-clips", type=int, default=60, metavar="N",
                   help="test clips for the instrument model (default 60)")
    p.add_argument("--targeted-clips", type=int, default=30, metavar="N",
                   help="of those, clips attacked towards every other class (default 30)")
    p.add_argument("--steps", type=int, default=20, metavar="N", help="PGD steps per epsilon (default 20)")
    _seed_flag(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default assets/adversarial)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_robustness, show=_print_robustness)

    p = sub.add_parser("robustness-seeds", help="the style models' robustness over training seeds (the shipped "
                       "models and the replicas of python -m training.robustness_seeds; needs the audio cache)")
    p.add_argument("--clips", type=int, default=96, metavar="N", help="test clips (default 96)")
    p.add_argument("--steps", type=int, default=20, metavar="N", help="PGD steps per epsilon (default 20)")
    _seed_flag(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default assets/adversarial)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_robustness_seeds, show=_print_robustness_seeds)

    p = sub.add_parser("veracity", help="does LIME find an adversarial perturbation? The paper's settings: whole "
                       "input, planted, planted with a decoy")
    p.add_argument("--model", default="instrument")
    p.add_argument("--clips", type=int, default=40, metavar="N")
    p.add_argument("--k", type=int, default=3, help="segments planted and explained (default 3)")
    p.add_argument("--samples", type=int, default=1000, help="LIME samples per clip (default 1000)")
    _seed_flag(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default assets/adversarial)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_veracity, show=_print_veracity)

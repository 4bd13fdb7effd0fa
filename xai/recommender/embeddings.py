"""The recommender's embedding spaces: shipped item embeddings with what each item is, and how to hear it.

Two collections ship in ``assets/hubness/`` (built by ``python -m xai embeddings --build``):

- ``audio``: every rendered corpus clip of the audio data set (train, val and test; 4 s at 22,050 Hz), embedded
  by the penultimate layer (``net.embed``) of several shipped audio models. Each item keeps its score (notes,
  bar lines), instrument program, tempo, base velocity, soundfont and augmentation seed, so it can be rendered
  again on demand (:func:`clip_waveform`): with the soundfont it was rendered with when that soundfont is on this
  machine (TimGM6mb always is; then the waveform is the data-set clip up to 16-bit rounding), else with TimGM6mb.
- ``score``: the 900 labelled corpus excerpts of ``assets/discovery/excerpts.npz``, embedded by the symbolic
  composer model's penultimate features (``PianoRollCNN.embed``: global average of block4; weights unchanged).
  Their notes are read from that file.

Embeddings are stored as float16 (d = 128 or 96), which changes distances by < 0.1 %.

Your own collections (up to millions of items) are ``NAME.npy`` files of (n, d) float32 vectors in the folder
``$MUSICXAI_COLLECTIONS``, each with an optional ``NAME.labels.npy`` (one class per item): :func:`collections` lists
them (as ``collection: NAME``) and :func:`load` reads one, memory-mapped. Their items have no notes or sound.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xai._paths import ASSETS
from xai.audio import clip as audio
from xai.audio import dataset as audio_data
from xai.audio import midlevel
from xai.contract import Result
from xai.errors import InputError
from xai.symbolic import dataset as data
from xai.symbolic import music

ASSETS = ASSETS / "hubness"
EMBEDDINGS_FILE = "embeddings.npz"
META_FILE = "embeddings.json"
AUDIO_MODELS = ("instrument", "style_audio", "style_midlevel", "style_adversarial")
SCORE_MODELS = ("composer",)
SPLITS = ("train", "val", "test")
COLLECTIONS_ENV = "MUSICXAI_COLLECTIONS"
COLLECTION_PREFIX = "collection: "


@dataclass(frozen=True)
class Embedding(Result):
    """One embedding space: (n, d) vectors and per-item metadata (plain arrays and lists)."""

    name: str  # the model whose penultimate layer it is (or 'collection: NAME' for your own vectors)
    collection: str  # 'audio', 'score' or 'vectors' (your own: no notes, no sound)
    vectors: np.ndarray  # (n, d) float32
    classes: tuple[str, ...]  # style classes (the 'class' of every item)
    labels: np.ndarray  # (n,) int index into classes
    meta: dict = field(default_factory=dict)  # per-item arrays: instrument, piece, split, ...

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def describe(self, i: int) -> dict:
        """What item ``i`` is, in plain values (class, instrument, source piece, bars, tempo, ...)."""
        m = self.meta
        d = {"item": int(i), "class": self.classes[int(self.labels[i])], "piece": m["piece_names"][int(m["piece"][i])]}
        if self.collection == "vectors":
            return d
        if self.collection == "audio":
            d.update(instrument=m["instrument_names"][int(m["instrument"][i])],
                     soundfont=m["soundfont_names"][int(m["soundfont"][i])], split=SPLITS[int(m["split"][i])],
                     tempo_qpm=round(float(m["qpm"][i]), 1), start_beat=float(m["start_beat"][i]))
            d.update({f: round(float(v), 3) for f, v in zip(m["midlevel_names"], m["midlevel"][i], strict=True)})
        else:
            d.update(start_bar=int(m["start_bar"][i]), end_bar=int(m["end_bar"][i]))
        return d

    def label(self, i: int) -> str:
        """Item ``i`` in one line for a list or a picker: its number, class and what it is (source, bars, tempo)."""
        d = self.describe(i)
        if self.collection == "audio":
            return f"#{i}: {d['class']}, {d['instrument']} — {d['piece']} ({d['tempo_qpm']:g} qpm)"
        if self.collection == "vectors":
            return f"#{i}: {d['class']}"
        return f"#{i}: {d['class']} — {d['piece']}, bars {d['start_bar']}-{d['end_bar']}"


def _meta(root: Path | None) -> dict:
    """The shipped embeddings' description (JSON), without reading their arrays."""
    root = root or ASSETS
    if not (root / EMBEDDINGS_FILE).exists() or not (root / META_FILE).exists():
        raise InputError("The shipped recommender embeddings are missing; run `python -m xai embeddings --build`.")
    return json.loads((root / META_FILE).read_text())


def _assets(root: Path | None) -> tuple[dict, dict]:
    meta = _meta(root)
    z = np.load((root or ASSETS) / EMBEDDINGS_FILE, allow_pickle=False)
    return {k: z[k] for k in z.files}, meta


def names(root: Path | None = None) -> list[str]:
    """The embedding spaces that ship (model names)."""
    _, meta = _assets(root)
    return [e["name"] for e in meta["embeddings"]]


def collections(folder: str | os.PathLike | None = None) -> dict[str, Path]:
    """Your own collections: ``collection: NAME`` -> ``NAME.npy`` for each vectors file in ``folder`` (default
    ``$MUSICXAI_COLLECTIONS``; none when it is not set)."""
    folder = folder or os.environ.get(COLLECTIONS_ENV)
    if not folder or not Path(folder).is_dir():
        return {}
    return {COLLECTION_PREFIX + p.stem: p for p in sorted(Path(folder).glob("*.npy"))
            if not p.name.endswith(".labels.npy")}


def load_collection(path: str | os.PathLike, *, name: str | None = None) -> Embedding:
    """A collection of your own: (n, d) float32 vectors memory-mapped from ``path`` (a .npy file), with
    ``<stem>.labels.npy`` beside it as the classes when present (else every item is of one class)."""
    path = Path(path)
    try:
        X = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputError(f"The collection {path.name} is not a NumPy .npy array of vectors ({e}).") from None
    if X.ndim != 2 or X.shape[0] < 3:
        raise InputError(f"The collection {path.name} must be an (items x dimensions) array with at least 3 items; "
                         f"it has shape {X.shape}.")
    if X.dtype != np.float32:
        X = np.asarray(X, dtype=np.float32)
    lp = path.with_name(path.stem + ".labels.npy")
    if lp.exists():
        raw = np.load(lp, allow_pickle=False)
        if raw.shape != (X.shape[0],):
            raise InputError(f"{lp.name} has {raw.size} labels for {X.shape[0]} items; give one label per item.")
        classes, labels = np.unique(raw, return_inverse=True)
        classes = tuple(str(c) for c in classes)
    else:
        classes, labels = ("(no labels)",), np.zeros(X.shape[0], np.int64)
    meta = {"piece": np.zeros(X.shape[0], np.int8), "piece_names": [""], "path": str(path)}
    return Embedding(name=name or COLLECTION_PREFIX + path.stem, collection="vectors", vectors=X, classes=classes,
                     labels=labels.astype(np.int64), meta=meta)


def load(name: str, root: Path | None = None) -> Embedding:
    """The shipped embedding space of model ``name`` with its items' metadata (or one of your
    :func:`collections`, by its ``collection: NAME``)."""
    if name.startswith(COLLECTION_PREFIX):
        found = collections()
        if name not in found:
            raise InputError(f"There is no collection '{name[len(COLLECTION_PREFIX):]}' in ${COLLECTIONS_ENV}.")
        return load_collection(found[name], name=name)
    a, meta = _assets(root)
    known = {e["name"]: e for e in meta["embeddings"]}
    if name not in known:
        raise InputError(f"There is no shipped embedding '{name}'; there are: {', '.join(known)}.")
    col = known[name]["collection"]
    p = "a_" if col == "audio" else "s_"
    m = {k[len(p):]: v for k, v in a.items() if k.startswith(p)}
    m["piece_names"] = meta[f"{col}_pieces"]
    if col == "audio":
        m.update(instrument_names=meta["instruments"], soundfont_names=meta["soundfonts"],
                 midlevel_names=meta["midlevel_features"], programs=meta["programs"])
    labels, classes = m.pop("label").astype(np.int64), tuple(meta["classes"])
    if col == "audio" and name.startswith("instrument"):  # an instrument model's "class" is the instrument
        labels, classes = m["instrument"].astype(np.int64), tuple(meta["instruments"])
    return Embedding(name=name, collection=col, vectors=a[f"emb_{name}"].astype(np.float32),
                     classes=classes, labels=labels, meta=m)


def parameters(root: Path | None = None) -> dict:
    """The build parameters and the command that rebuilds the shipped embeddings."""
    return _meta(root)


# --- hearing an item -------------------------------------------------------------------------------------------


def item_piece(emb: Embedding, i: int, root: Path | None = None):
    """The notes item ``i`` plays, as an :class:`xai.symbolic.music.Piece` (audio items at their tempo and register)."""
    m = emb.meta
    if emb.collection == "audio":
        return music.unpack_piece(m, i, title=f"item {i}", tempi=((0.0, float(m["qpm"][i])),))
    with np.load((root.parent if root else ASSETS.parent) / "discovery" / "excerpts.npz", allow_pickle=False) as z:
        return music.unpack_piece(z, int(m["excerpt"][i]), title=f"item {i}")


def clip_waveform(emb: Embedding, i: int) -> tuple[np.ndarray, bool]:
    """Render audio item ``i`` again: (float32 samples at 22,050 Hz, exact) where ``exact`` says the clip is the
    data-set clip (same soundfont, same augmentation seed); otherwise it was rendered with TimGM6mb instead."""
    if emb.collection != "audio":
        raise InputError("Only the audio collection has recordings; score excerpts are played from their notes.")
    m = emb.meta
    sf_name = m["soundfont_names"][int(m["soundfont"][i])]
    path = audio_data.soundfont_path(sf_name, fetch=False)
    exact = path is not None
    if path is None:
        path = audio_data.soundfont_path("timgm6mb")
    program = int(m["programs"][int(m["instrument"][i])])
    x = audio_data.render(item_piece(emb, i), program, path.read_bytes())
    y, _ = audio_data.augment(x, np.random.default_rng(int(m["seed"][i])))
    return np.round(y * 32767).astype(np.int16).astype(np.float32) / 32767.0, exact


def item_wav(emb: Embedding, i: int) -> bytes:
    """WAV bytes to listen to item ``i`` (audio: its clip; score: its notes on the piano)."""
    if emb.collection == "vectors":
        raise InputError("The items of your own collection are vectors only: there is nothing to play.")
    if emb.collection == "audio":
        x, _ = clip_waveform(emb, i)
        return audio.to_wav_bytes(x, audio.SAMPLE_RATE)
    return music.render_audio(item_piece(emb, i))


def embed_clip(waveform, model) -> np.ndarray:
    """A recording's place in an audio model's embedding space: its first 4 s (zero-padded), ``net.embed``.

    This is how an uploaded song is placed among the shipped items (whose clips are 4 s long) so that its
    nearest items can be recommended; returns the (d,) float32 embedding.
    """
    import torch  # heavy: only a query or a build embeds

    x = np.zeros(audio_data.CLIP_SAMPLES, np.float32)
    w = np.asarray(waveform, np.float32).ravel()[:audio_data.CLIP_SAMPLES]
    x[: w.size] = w
    with torch.no_grad():
        return model.net.embed(torch.as_tensor(x[None])).numpy()[0].astype(np.float32)


# --- building the shipped file ---------------------------------------------------------------------------------


def _embed_batches(fn, X, batch: int = 64) -> np.ndarray:
    import torch

    out = []
    with torch.no_grad():
        for s in range(0, len(X), batch):
            out.append(fn(torch.as_tensor(np.asarray(X[s:s + batch], dtype=np.float32))).numpy())
    return np.concatenate(out).astype(np.float32)


def _audio_arrays(sets, table) -> tuple[dict[str, np.ndarray], list[str]]:
    """The audio items' metadata arrays (``a_*``: what each clip is and its notes) and their source pieces."""
    piece_idx = np.concatenate([s.piece for s in sets])
    uniq, inv = np.unique(piece_idx, return_inverse=True)
    audio_pieces = [table.ids[int(p)] for p in uniq]
    cat = lambda key: np.concatenate([s.arrays[key] for s in sets])  # noqa: E731
    note_ptr, bar_ptr, n_off, b_off = [0], [0], 0, 0
    for s in sets:
        note_ptr += list(s.arrays["note_ptr"][1:] + n_off)
        bar_ptr += list(s.arrays["bar_ptr"][1:] + b_off)
        n_off, b_off = note_ptr[-1], bar_ptr[-1]
    arrays = dict(
        a_label=np.concatenate([s.style for s in sets]).astype(np.int8),
        a_instrument=np.concatenate([s.instrument for s in sets]).astype(np.int8),
        a_soundfont=np.concatenate([s.soundfont for s in sets]).astype(np.int8),
        a_piece=inv.astype(np.int16),
        a_split=np.concatenate([np.full(len(s), k, np.int8) for k, s in enumerate(sets)]),
        a_start_beat=cat("start_beat").astype(np.float32), a_qpm=cat("qpm").astype(np.float32),
        a_velocity=cat("velocity").astype(np.int8), a_seed=cat("seed").astype(np.int64),
        a_midlevel=np.concatenate([s.midlevel for s in sets]).astype(np.float16),
        a_note_ptr=np.array(note_ptr, np.int32), a_bar_ptr=np.array(bar_ptr, np.int32),
        a_onsets=cat("onsets").astype(np.float32), a_durations=cat("durations").astype(np.float32),
        a_pitches=cat("pitches").astype(np.int8), a_velocities=cat("velocities").astype(np.int8),
        a_parts=cat("parts").astype(np.int8), a_bar_starts=cat("bar_starts").astype(np.float32),
        a_bar_numbers=cat("bar_numbers").astype(np.int16),
    )
    return arrays, audio_pieces


def _score_arrays(z, text) -> tuple[dict[str, np.ndarray], np.ndarray, list[int], list[str]]:
    """The score excerpts' metadata arrays (``s_*``), which excerpts are kept, which dropped, and the pieces.

    Identical piano rolls (repeated passages) would be tied neighbours: only the first of each is kept.
    """
    s_pieces = sorted(set(text["piece_ids"]))
    flat = z["X"].reshape(len(z["X"]), -1)
    _, keep = np.unique(flat, axis=0, return_index=True)
    keep = np.sort(keep)
    dropped = sorted(set(range(len(flat))) - set(keep.tolist()))
    arrays = dict(s_label=z["labels"][keep].astype(np.int8), s_excerpt=keep.astype(np.int16),
                  s_piece=np.array([s_pieces.index(text["piece_ids"][i]) for i in keep], np.int16),
                  s_start_bar=z["start_bar"][keep].astype(np.int32), s_end_bar=z["end_bar"][keep].astype(np.int32))
    return arrays, keep, [int(i) for i in dropped], s_pieces


def _embed_all(arrays: dict, sets, z, keep, audio_models, score_models, progress, t0) -> tuple[dict, list[dict]]:
    """Every model's embedding of its collection into ``arrays`` (``emb_<model>``); the models' hashes and rows."""
    from models import registry  # loads networks (torch): only a build needs them

    models_meta, embs = {}, []
    for name in audio_models:
        m = registry.load(name)
        vecs = []
        for s in sets:
            vecs.append(_embed_batches(m.net.embed, s.waves.astype(np.float32) / 32767.0))
            progress(f"  {name}: {sum(len(v) for v in vecs)} clips, {time.time() - t0:.0f} s")
        arrays[f"emb_{name}"] = np.concatenate(vecs).astype(np.float16)
        models_meta[name] = m.weights_sha256
        embs.append({"name": name, "collection": "audio", "n": int(arrays[f"emb_{name}"].shape[0]),
                     "d": int(arrays[f"emb_{name}"].shape[1]), "layer": "penultimate (net.embed)"})
    for name in score_models:
        m = registry.load(name)
        arrays[f"emb_{name}"] = _embed_batches(m.net.embed, z["X"][keep]).astype(np.float16)
        models_meta[name] = m.weights_sha256
        embs.append({"name": name, "collection": "score", "n": int(arrays[f"emb_{name}"].shape[0]),
                     "d": int(arrays[f"emb_{name}"].shape[1]), "layer": "penultimate (global average of block4)"})
        progress(f"  {name}: {len(z['labels'])} excerpts, {time.time() - t0:.0f} s")
    return models_meta, embs


def build(out: Path | None = None, *, audio_models=AUDIO_MODELS, score_models=SCORE_MODELS, progress=print) -> dict:
    """Embed the audio data set (cache) and the shipped score excerpts; write ``embeddings.npz`` + ``.json``."""
    import torch  # heavy: only a build seeds and runs networks

    torch.manual_seed(0)
    out = out or ASSETS
    t0 = time.time()
    sets = [audio_data.load(s) for s in SPLITS]
    table = data.PieceTable.load(data.cache_dir() / f"corpus_v{data.CACHE_VERSION}.npz")
    arrays, audio_pieces = _audio_arrays(sets, table)
    z = np.load(ASSETS.parent / "discovery" / "excerpts.npz", allow_pickle=False)
    text = json.loads(str(z["text"]))
    score_arrays, keep, dropped, s_pieces = _score_arrays(z, text)
    arrays.update(score_arrays)
    models_meta, embs = _embed_all(arrays, sets, z, keep, audio_models, score_models, progress, t0)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / EMBEDDINGS_FILE, **arrays)
    meta = {
        "format": "musicxai.hubness.embeddings", "version": 1,
        "command": "python -m xai embeddings --build",
        "parameters": {"audio_models": list(audio_models), "score_models": list(score_models),
                       "audio_splits": list(SPLITS), "audio_cache": f"audio_v{audio_data.VERSION}",
                       "score_excerpts": "assets/discovery/excerpts.npz", "dtype": "float16", "torch_seed": 0,
                       "score_excerpts_dropped_as_duplicates": dropped},
        "weights_sha256": models_meta, "embeddings": embs,
        "classes": list(data.CLASSES), "instruments": list(audio_data.INSTRUMENT_NAMES),
        "programs": [i[1] for i in audio_data.INSTRUMENTS], "soundfonts": list(audio_data.SOUNDFONTS),
        "midlevel_features": _midlevel_names(), "audio_pieces": audio_pieces, "score_pieces": s_pieces,
        "sample_rate": audio_data.SAMPLE_RATE, "clip_seconds": audio_data.CLIP_SECONDS,
        "sha256": hashlib.sha256((out / EMBEDDINGS_FILE).read_bytes()).hexdigest(),
        "seconds": round(time.time() - t0, 1),
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=1))
    return {"path": str(out / EMBEDDINGS_FILE), "bytes": (out / EMBEDDINGS_FILE).stat().st_size,
            "embeddings": embs, "seconds": meta["seconds"]}


def reembed(name: str, out: Path | None = None, *, progress=print) -> dict:
    """Embed the shipped audio collection again with the current weights of audio model ``name``.

    Retraining a model moves its embedding space: an uploaded song embedded with the new weights must not be
    placed among items embedded with the old ones. Each item's clip is rendered again exactly as the data set
    made it (:func:`clip_waveform`: same soundfont, same augmentation seed), so the collection and every other
    model's vectors stay as they are; only ``emb_<name>`` and the recorded weights hash change.
    """
    from models import registry  # loads networks (torch): only a build needs them

    out = out or ASSETS
    t0 = time.time()
    emb = load(name, out)
    if emb.collection != "audio":
        raise InputError(f"'{name}' does not embed the audio collection; only audio models can be re-embedded.")
    X = np.zeros((len(emb.labels), audio_data.CLIP_SAMPLES), np.float32)
    inexact = 0
    for i in range(len(X)):
        x, exact = clip_waveform(emb, i)
        inexact += not exact
        X[i, : min(x.size, X.shape[1])] = x[: X.shape[1]]
        if (i + 1) % 500 == 0:
            progress(f"  rendered {i + 1} of {len(X)} clips, {time.time() - t0:.0f} s")
    if inexact:
        raise InputError(f"{inexact} clips could not be rendered with their own soundfont; install the data-build "
                         "soundfonts (scripts/setup_audio_data.sh) before re-embedding.")
    m = registry.load(name)
    arrays = dict(np.load(out / EMBEDDINGS_FILE, allow_pickle=False))
    arrays[f"emb_{name}"] = _embed_batches(m.net.embed, X).astype(np.float16)
    np.savez_compressed(out / EMBEDDINGS_FILE, **arrays)
    meta = json.loads((out / META_FILE).read_text())
    meta["weights_sha256"][name] = m.weights_sha256
    meta["sha256"] = hashlib.sha256((out / EMBEDDINGS_FILE).read_bytes()).hexdigest()
    meta.setdefault("reembedded", {})[name] = {"command": f"python -m xai embeddings --reembed {name}",
                                               "seconds": round(time.time() - t0, 1)}
    (out / META_FILE).write_text(json.dumps(meta, indent=1))
    return {"path": str(out / EMBEDDINGS_FILE), "bytes": (out / EMBEDDINGS_FILE).stat().st_size,
            "embeddings": meta["embeddings"], "seconds": round(time.time() - t0, 1)}


def weights_match(emb: Embedding, model) -> bool:
    """True when the shipped vectors of ``emb`` were made with ``model``'s current weights (or nothing says)."""
    made = (parameters().get("weights_sha256") or {}).get(emb.name) if emb.collection != "vectors" else None
    return made is None or made == getattr(model, "weights_sha256", made)


def place(waveform, model, emb: Embedding) -> np.ndarray:
    """An uploaded recording's vector among the items of ``emb`` (:func:`embed_clip`), refused in a sentence when
    the items were embedded with other weights of the model (their distances would mean nothing)."""
    if not weights_match(emb, model):
        raise InputError(f"The shipped '{emb.name}' collection was embedded with earlier weights of this model, so a "
                         f"new recording cannot be placed among its items; run `python -m xai embeddings --reembed "
                         f"{emb.name}` to embed the collection again.")
    return embed_clip(waveform, model)


def _midlevel_names() -> list[str]:
    return list(midlevel.FEATURES)


def replace(emb: Embedding, **kw) -> Embedding:
    """A copy of an embedding space with some fields changed (e.g. a subset's vectors and labels in tests)."""
    return dataclasses.replace(emb, **kw)


def hub_profile(emb: Embedding, k_occurrence: np.ndarray, top: int = 20) -> dict:
    """What the ``top`` biggest hubs have in common, against the whole collection: the share of each class,
    instrument and source piece among hubs vs among all items, and the mean mid-level features (z-scores)."""
    nk = np.asarray(k_occurrence)
    hubs = np.argsort(-nk, kind="stable")[:top]
    m = emb.meta

    def shares(values, names):
        vals = np.asarray(values)
        out = []
        for v in np.unique(vals):
            h, a = float(np.mean(vals[hubs] == v)), float(np.mean(vals == v))
            out.append({"name": names[int(v)], "hubs": h, "all": a, "lift": h / a if a else 0.0})
        return sorted(out, key=lambda r: -r["hubs"])

    prof = {"top": int(top), "items": hubs.tolist(), "class": shares(emb.labels, emb.classes),
            "piece": shares(m["piece"], m["piece_names"])[:5]}
    if emb.collection == "audio":
        prof["instrument"] = shares(m["instrument"], m["instrument_names"])
        prof["soundfont"] = shares(m["soundfont"], m["soundfont_names"])
        ml = np.asarray(m["midlevel"], np.float64)
        z = (ml[hubs].mean(axis=0) - ml.mean(axis=0)) / np.maximum(ml.std(axis=0), 1e-9)
        prof["midlevel_z"] = {f: float(v) for f, v in zip(m["midlevel_names"], z, strict=True)}
    # the same piece more than once among the hubs?
    p = np.asarray(m["piece"])[hubs]
    prof["distinct_pieces"] = int(np.unique(p).size)
    return prof

"""Streamlit caches of the recordings' side: uploaded clips, audio predictions, transcriptions, the label-noise
lab's excerpts and the recommender's embeddings (the rest is in :mod:`pages._cache`).

A recording (Clip) is hashed by its file's SHA-256 (:func:`xai.audio.clip.clip_key`), not by its samples; the
computing itself is in ``xai``: each function here only decides what is kept and for how long.
"""

from __future__ import annotations

import streamlit as st

from models.label_noise import load_subset
from pages._cache import model
from xai.audio import clip as audio_clip
from xai.audio import ood as audio_ood
from xai.audio import predict as audio_predict
from xai.audio import transcribe
from xai.recommender import embeddings, heldout, hub_attack, hubness
from xai.symbolic import music

# --- audio (pages/audio.py) ---------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16)
def load_audio_upload(data: bytes, filename: str) -> audio_clip.Clip:
    """An uploaded recording as a Clip (validated by :func:`xai.audio.clip.load_audio_bytes`), cached by content."""
    return audio_clip.load_audio_bytes(data, filename)


# A recording is keyed by its file's SHA-256 (:func:`xai.audio.clip.clip_key`), not by its samples.
_CLIP_HASH = {audio_clip.Clip: audio_clip.clip_key}


@st.cache_data(show_spinner="Listening…", max_entries=32, hash_funcs=_CLIP_HASH)
def classify_audio(clip: audio_clip.Clip, model_name: str) -> audio_predict.AudioPrediction:
    """An audio model's prediction over time for a recording, cached by the file's SHA-256 and the model."""
    return audio_predict.classify_audio(clip, model(model_name))


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=_CLIP_HASH)
def audio_outside(clip: audio_clip.Clip, model_name: str) -> audio_ood.OodResult | None:
    """How far a recording is from the model's training audio (None when the model has no calibration)."""
    if model_name not in audio_ood.available():
        return None
    return audio_ood.check(clip, model(model_name))


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=_CLIP_HASH)
def audio_spectrogram(clip: audio_clip.Clip, model_name: str, seconds: float) -> audio_predict.Spectrogram:
    """The model's log filter-bank of the first ``seconds`` of a recording."""
    return audio_predict.model_spectrogram(clip, model(model_name), max_seconds=seconds)


@st.cache_data(show_spinner=False)
def audio_filterbanks(model_name: str):
    """(mel bank, the model's learned bank, FFT bin frequencies) for the filter-bank figure."""
    return audio_predict.filterbanks(model(model_name))


@st.cache_data(show_spinner="Transcribing with basic-pitch…", max_entries=8, hash_funcs=_CLIP_HASH)
def transcription(clip: audio_clip.Clip) -> music.Piece:
    """basic-pitch's transcription of a recording as a Piece marked '(transcribed)', cached by the file."""
    return transcribe.transcribe(clip)


# --- label-noise lab (pages/label_noise.py) ----------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the label-noise lab's excerpts…")
def label_noise_subset() -> dict:
    """The label-noise lab's shipped training/test excerpts (read-only; shared by every session)."""
    return load_subset()


# --- recommender hubness (pages/hubness.py) ----------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the recommender's embeddings…")
def hubness_embedding(name: str):
    """A shipped embedding space with its items' metadata (read-only; shared by every session)."""
    return embeddings.load(name)


@st.cache_data(show_spinner="Finding every item's nearest neighbours…", max_entries=16)
def hubness_reports(name: str, k: int) -> list:
    """Hubness and retrieval of embedding ``name`` at ``k`` under every reduction (one shared k-NN graph)."""
    emb = hubness_embedding(name)
    return hubness.compare(emb.vectors, emb.labels, k)


@st.cache_data(show_spinner="Measuring recommendations for held-out clips…", max_entries=16)
def hubness_heldout(name: str, k: int) -> heldout.HeldOutResult:
    """k-NN accuracy and same-class precision of held-out clips against the collection (out of sample)."""
    return heldout.evaluate(hubness_embedding(name), k=k)


@st.cache_data(show_spinner="Rendering…", max_entries=128)
def hubness_item_wav(name: str, item: int) -> bytes:
    """WAV bytes of one item of an embedding space (audio clips re-rendered from their score)."""
    return embeddings.item_wav(hubness_embedding(name), item)


@st.cache_resource(show_spinner="Preparing the recommender for the attack…", max_entries=4)
def hub_attack_collection(name: str, defence: str):
    """The attack's view of the collection (pairwise distances, k-NN and MP lists) for one defence."""
    return hub_attack.Collection(hubness_embedding(name).vectors, defence=defence)


@st.cache_data(show_spinner=False, max_entries=16)
def hub_attack_song(name: str, item: int, options: tuple, _progress=None) -> hub_attack.SongAttack:
    """One song attacked against the undefended and the MP-defended recommender (``options``: sorted items of
    :class:`~xai.recommender.hub_attack.HubAttackOptions`), computed once per server."""
    return hub_attack.attack_song(hubness_embedding(name), model(name).net, item=item,
                                  collections={d: hub_attack_collection(name, d) for d in hub_attack.DEFENCES},
                                  options=hub_attack.HubAttackOptions.from_dict(dict(options)), progress=_progress)

"""The shipped recommender embeddings: contents, provenance, re-rendering, hub profile; and the candidate-MP
approximation against full all-pairs Mutual Proximity on a shipped embedding."""

import numpy as np
import pytest

from xai.recommender import embeddings, hubness


def test_shipped_embeddings_are_complete_and_small():
    names = embeddings.names()
    assert {"instrument", "style_audio", "style_midlevel", "composer"} <= set(names)
    total = sum(p.stat().st_size for p in embeddings.ASSETS.iterdir())
    assert total < 8 * 2**20
    p = embeddings.parameters()
    assert p["command"].startswith("python -m xai embeddings") and p["weights_sha256"]["composer"]
    for n in names:
        e = embeddings.load(n)
        hubness.check_vectors(e.vectors)  # no NaNs, no duplicates
        assert len(e.labels) == len(e) and e.vectors.shape[1] in (96, 128)
    a = embeddings.load("style_audio")
    d = a.describe(0)
    assert {"class", "instrument", "piece", "tempo_qpm", "note_density"} <= set(d)
    assert embeddings.load("instrument").classes[0] == "piano"  # an instrument model's class is the instrument
    s = embeddings.load("composer").describe(3)
    assert {"class", "piece", "start_bar", "end_bar"} <= set(s)


def test_items_can_be_heard_again():
    import torch

    from models import registry

    e = embeddings.load("style_audio")
    i = int(np.flatnonzero(e.meta["soundfont"] == 0)[0])  # rendered with TimGM6mb: the exact clip again
    x, exact = embeddings.clip_waveform(e, i)
    assert exact and x.shape == (88200,)
    with torch.no_grad():
        v = registry.load("style_audio").net.embed(torch.as_tensor(x[None])).numpy()[0]
    assert np.abs(v - e.vectors[i]).max() < 0.02 * np.abs(e.vectors[i]).max()
    wav = embeddings.item_wav(embeddings.load("composer"), 0)
    assert wav[:4] == b"RIFF"


def test_hub_profile_names_what_hubs_share():
    e = embeddings.load("style_audio")
    rep = hubness.analyse(e.vectors, e.labels, 10)
    prof = embeddings.hub_profile(e, rep.k_occurrence, top=20)
    assert len(prof["items"]) == 20 and abs(sum(s["hubs"] for s in prof["class"]) - 1) < 1e-9
    assert set(prof["midlevel_z"]) == set(e.meta["midlevel_names"])


def _full_mp_topk(X, k):
    n = len(X)
    D = np.linalg.norm(X[:, None].astype(np.float64) - X[None], axis=2)
    M = np.empty((n, n))
    for x in range(n):
        t = D[x][:, None]
        far = (D[x][None, :] > t) & (D > t)
        M[x] = 1 - far.sum(1) / (n - 2)
    np.fill_diagonal(M, np.inf)
    return np.argsort(M, axis=1, kind="stable")[:, :k]


@pytest.mark.slow
def test_candidate_mp_matches_full_all_pairs_mp_on_the_composer_embedding():
    X = embeddings.load("composer").vectors
    k = 10
    full = _full_mp_topk(X, k)
    rep = hubness.analyse(X, None, k, "mp", candidates=50)
    same = np.mean([len(set(a) & set(b)) / k for a, b in zip(full, rep.neighbours, strict=True)])
    assert same > 0.97  # measured: 0.987
    nk_full = hubness.measures(full, len(X))
    assert abs(nk_full["skewness"] - rep.measures["skewness"]) < 0.05


def test_embed_clip_places_a_recording_as_the_shipped_clips_were():
    from models import registry

    e = embeddings.load("style_audio")
    i = int(np.flatnonzero(e.meta["soundfont"] == 0)[0])
    x, _ = embeddings.clip_waveform(e, i)
    model = registry.load("style_audio")
    v = embeddings.embed_clip(x, model)
    assert v.shape == (e.vectors.shape[1],) and v.dtype == np.float32
    assert np.abs(v - e.vectors[i]).max() < 0.02 * np.abs(e.vectors[i]).max()
    short = embeddings.embed_clip(x[:1000], model)  # shorter than 4 s: zero-padded, still one point
    assert short.shape == v.shape and np.isfinite(short).all()


def test_embedding_round_trips_through_json():
    from xai.contract import fields_equal

    e = embeddings.load("composer")
    small = embeddings.replace(e, vectors=e.vectors[:5], labels=e.labels[:5])
    assert fields_equal(small, embeddings.Embedding.from_json(small.to_json()))


def test_your_own_collections_are_listed_and_read_memory_mapped(tmp_path, monkeypatch):
    import numpy as np

    from xai.errors import InputError

    rng = np.random.default_rng(1)
    np.save(tmp_path / "big.npy", rng.normal(size=(50, 8)).astype(np.float32))
    np.save(tmp_path / "big.labels.npy", np.array(["x", "y"] * 25))
    np.save(tmp_path / "plain.npy", rng.normal(size=(20, 4)))  # float64: converted once
    np.save(tmp_path / "bad.npy", np.arange(5))
    monkeypatch.setenv("MUSICXAI_COLLECTIONS", str(tmp_path))
    found = embeddings.collections()
    assert set(found) == {"collection: big", "collection: plain", "collection: bad"}
    e = embeddings.load("collection: big")
    assert e.collection == "vectors" and isinstance(e.vectors, np.memmap) and e.classes == ("x", "y")
    assert e.describe(3) == {"item": 3, "class": "y", "piece": ""}
    assert embeddings.load("collection: plain").vectors.dtype == np.float32
    assert embeddings.hub_profile(e, np.arange(50), top=5)["class"]
    with pytest.raises(InputError, match="at least 3 items"):
        embeddings.load("collection: bad")
    with pytest.raises(InputError, match="nothing to play"):
        embeddings.item_wav(e, 0)
    with pytest.raises(InputError, match="no collection 'other'"):
        embeddings.load("collection: other")
    np.save(tmp_path / "big.labels.npy", np.array(["x"] * 7))
    with pytest.raises(InputError, match="one label per item"):
        embeddings.load("collection: big")


def test_item_labels_say_what_each_item_is_in_each_kind_of_collection():
    a = embeddings.load("style_audio")
    d = a.describe(0)
    assert a.label(0) == f"#0: {d['class']}, {d['instrument']} — {d['piece']} ({d['tempo_qpm']:g} qpm)"
    s = embeddings.load("composer")
    d = s.describe(3)
    assert s.label(3) == f"#3: {d['class']} — {d['piece']}, bars {d['start_bar']}-{d['end_bar']}"


def test_the_shipped_vectors_were_made_with_the_shipped_weights_and_a_stale_model_is_refused():
    from types import SimpleNamespace

    from models import registry
    from xai.errors import InputError

    for name in embeddings.names():
        emb = embeddings.load(name)
        if emb.collection == "audio":  # an uploaded song is embedded with the model as it ships
            assert embeddings.weights_match(emb, registry.load(name)), name
    emb = embeddings.load("instrument")
    stale = SimpleNamespace(name="instrument", weights_sha256="0" * 64)
    assert not embeddings.weights_match(emb, stale)
    with pytest.raises(InputError, match="--reembed instrument"):
        embeddings.place(np.zeros(100, np.float32), stale, emb)

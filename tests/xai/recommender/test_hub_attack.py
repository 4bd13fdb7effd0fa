"""Hub attack: the L-infinity bound after every step, the k-occurrence check against brute force, success
bookkeeping, and the CLI on the shipped embeddings."""

import json

import numpy as np
import pytest
import torch

from xai import cli
from xai.errors import ParameterError
from xai.recommender import hub_attack as A


class FakeNet(torch.nn.Module):
    """waveform (B, 1600) -> 12-d embedding: a fixed random projection of 16 frame energies, squashed."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(16, 12, generator=g), requires_grad=False)

    def embed(self, x):
        frames = x.reshape(x.shape[0], 16, -1)
        return torch.tanh((frames**2).mean(-1) * 20) @ self.w


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    waves = (rng.uniform(-0.3, 0.3, size=(120, 1600)) * rng.uniform(0.2, 1, size=(120, 16)).repeat(100, 1))
    waves = waves.astype(np.float32)
    net = FakeNet()
    with torch.no_grad():
        X = net.embed(torch.as_tensor(waves)).numpy()
    return net, waves, X


def _brute_nk(X, q, e, k):
    Y = X.copy()
    Y[q] = e
    D = np.linalg.norm(Y[:, None] - Y[None], axis=2)
    np.fill_diagonal(D, np.inf)
    nn = np.argsort(D, axis=1, kind="stable")[:, :k]
    return int((nn == q).sum())


def test_entered_matches_brute_force_knn(setup):
    _, _, X = setup
    col = A.Collection(X, k=5, defence="none", hub_size=2)
    rng = np.random.default_rng(1)
    for q in range(0, 120, 17):
        e = X[q] + rng.normal(scale=0.3, size=X.shape[1]).astype(np.float32)
        assert col.n_k(q, e) == _brute_nk(X, q, e, 5)
        assert col.n_k(q, X[q]) == _brute_nk(X, q, X[q], 5)


def test_mp_check_is_close_to_a_full_recompute(setup):
    from xai.recommender import hubness as H

    _, _, X = setup
    col = A.Collection(X, k=5, defence="mp", candidates=30, hub_size=2)
    for q in (3, 50, 99):
        e = X[(q + 1) % 120] * 0.9 + X[q] * 0.1
        Y = X.copy()
        Y[q] = e
        g = H.knn(Y, 30)
        ind, _ = H.reduce(g, "mp", Y)
        full = int((ind[:, :5] == q).sum())
        assert abs(col.n_k(q, e) - full) <= 2


@pytest.mark.parametrize("steps", [1, 3, 7])
def test_linf_bound_holds_after_every_step(setup, steps):
    net, waves, X = setup
    col = A.Collection(X, k=5, defence="none", hub_size=100)  # unreachable: the attack runs all its steps
    x = waves[:4].copy()
    x[0, :50] = 0.999  # near full scale: x + delta must stay in [-1, 1]
    opts = A.HubAttackOptions(eps=0.01, lr=0.05, steps=steps, check_every=1, hub_size=100)
    res, adv = A.attack(x, net, items=[0, 1, 2, 3], collection=col, options=opts, keep_waveforms=True)
    delta = adv - x
    assert np.abs(delta).max() <= 0.01 + 1e-6
    assert adv.max() <= 1.0 and adv.min() >= -1.0
    assert all(r.steps == steps and r.linf <= 0.01 + 1e-6 for r in res)


def test_attack_raises_k_occurrence_and_success_bookkeeping(setup):
    net, waves, X = setup
    col = A.Collection(X, k=5, defence="none", hub_size=2)
    items = [i for i in range(40) if col.k_occurrence[i] < 10][:6]
    res = A.attack(waves[items], net, items=items, collection=col,
                   options=A.HubAttackOptions(eps=0.05, lr=0.005, steps=40, hub_size=2))
    assert np.mean([r.nk_after for r in res]) > np.mean([r.nk_before for r in res])
    s = A.summarise(res)
    assert s["attacked"] == 6 and s["success_rate"] == pytest.approx(s["successes"] / 6)
    fake = [A.SongResult(0, "yes", 1, 12, 40.0, 0.01, 5), A.SongResult(1, "no", 2, 3, 38.0, 0.01, 50),
            A.SongResult(2, "hub", 30, 30, None, 0.0, 0), A.SongResult(3, "yes", 0, 11, 30.0, 0.01, 10)]
    s = A.summarise(fake)
    assert s["success_rate"] == pytest.approx(2 / 3) and s["already_hubs"] == 1
    assert s["snr_db_successful"]["mean"] == pytest.approx(35.0)


def test_snr_db_by_hand():
    x = np.ones(100)
    assert A.snr_db(x, 0.1 * x) == pytest.approx(20.0)


def test_bad_options_are_plain_messages(setup):
    _, _, X = setup
    with pytest.raises(ParameterError, match="no defence"):
        A.Collection(X, defence="shield")
    with pytest.raises(ParameterError, match="eps"):
        A.HubAttackOptions(eps=2.0)
    with pytest.raises(ParameterError, match="eps"):
        A.HubAttackOptions(eps=0.0)


def test_cli_hubness_json_has_the_issue_keys(capsys):
    assert cli.main(["hubness", "--embedding", "composer", "--k", "5", "--reduction", "mp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"k", "n", "skewness", "hub_occurrence", "antihub_occurrence", "robinhood", "retrieval_precision"} <= set(out)
    assert out["k"] == 5 and out["n"] == 897 and out["reduction"] == "mp"
    assert cli.main(["hubness", "--embedding", "composer", "--k", "897"]) == 2
    assert "too many" in capsys.readouterr().err


def test_cli_hub_attack_plain_errors(capsys):
    assert cli.main(["hub-attack", "--embedding", "composer", "--json"]) == 2
    assert "score excerpts" in capsys.readouterr().err
    assert cli.main(["hub-attack", "--embedding", "style_audio", "--n-songs", "0", "--json"]) == 2
    assert "number of songs" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_hub_attack_runs_on_one_song(capsys):
    assert cli.main(["hub-attack", "--embedding", "style_audio", "--n-songs", "1", "--steps", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"success_rate", "snr_db_successful", "attacked"} <= set(out) and out["n_songs"] == 1
    assert out["options"]["eps"] == 0.003 and out["paper"]["success_rate_with_mp"]


def test_adaptive_attack_through_mp_keeps_the_bound_and_follows_its_own_loss(setup):
    net, waves, X = setup
    col = A.Collection(X, k=5, defence="mp", candidates=30, hub_size=100)
    items = [5, 6, 7, 8]
    kw = dict(eps=0.05, lr=0.005, steps=10, hub_size=100, candidates=30)
    res, adv = A.attack(waves[items], net, items=items, collection=col, options=A.HubAttackOptions(adaptive=True, **kw),
                        keep_waveforms=True)
    _, plain = A.attack(waves[items], net, items=items, collection=col,
                       options=A.HubAttackOptions(adaptive=False, **kw), keep_waveforms=True)
    assert np.abs(adv - waves[items]).max() <= 0.05 + 1e-6
    assert all(r.status == "no" and r.steps == 10 for r in res)
    assert not np.allclose(adv, plain)  # the smooth-MP loss, not the Euclidean one, drove the perturbation


def test_song_result_round_trips_through_json():
    from xai.contract import fields_equal

    for r in (A.SongResult(0, "yes", 1, 12, 40.0, 0.01, 5, 0.5, (1, 4, 12)), A.SongResult(2, "hub", 30, 30, None, 0.0, 0),
              A.SongResult(1, "no", 2, 2, float("inf"), 0.0, 3, nk_trace=(2, 2))):
        assert fields_equal(r, type(r).from_json(r.to_json()))


def test_hub_attack_options_declare_bounds_for_the_cli():
    import argparse

    p = argparse.ArgumentParser()
    A.HubAttackOptions.add_arguments(p)
    o = A.HubAttackOptions.from_args(p.parse_args(["--eps", "0.01", "--adaptive", "--steps", "7"]))
    assert o == A.HubAttackOptions(eps=0.01, adaptive=True, steps=7)
    with pytest.raises(ParameterError, match="n_targets"):
        A.HubAttackOptions(n_targets=0)


def test_shipped_jobs_table_puts_ours_beside_the_paper():
    from xai.recommender import embeddings

    rows, commands, options, paper = A.shipped_jobs(embeddings.ASSETS)
    assert rows and commands and all(c.startswith("python -m xai hub-attack") for c in commands)
    assert {r["defence"].split(",")[0] for r in rows} >= {"none", "Mutual Proximity (empirical)"}
    assert all(0 <= r["success rate (ours)"] <= 1 for r in rows if r["success rate (ours)"] is not None)
    assert options["eps"] > 0 and paper["success_rate_with_mp"]
    assert A.shipped_jobs(embeddings.ASSETS / "nowhere") == ([], [], {}, A.PAPER)


def test_attack_song_attacks_one_song_against_each_defence_and_round_trips(setup, monkeypatch):
    from xai.contract import fields_equal

    net, waves, X = setup
    q = 7
    monkeypatch.setattr(A.embeddings, "clip_waveform", lambda emb, i: (waves[i], False))
    cols = {d: A.Collection(X, k=5, defence=d, hub_size=2) for d in A.DEFENCES}
    opts = A.HubAttackOptions(eps=0.05, steps=10, check_every=5, lr=0.01, hub_size=2)
    heard = []
    out = A.attack_song(None, net, item=q, collections=cols, options=opts, progress=lambda f, m: heard.append(f))
    assert out.defences == A.DEFENCES and out.item == q and out.exact_clip is False
    np.testing.assert_array_equal(out.original, waves[q])
    assert out.adversarial.shape == (2, waves.shape[1])
    for d in A.DEFENCES:
        r = out.result(d)
        assert r.item == q and r.nk_before == cols[d].n_k(q, X[q])
        assert np.abs(out.waveform(d) - waves[q]).max() <= opts.eps + 1e-6
    assert heard and max(heard) <= 1.0 and heard[-1] > 0.5  # the second defence reports in the second half
    assert fields_equal(out, A.SongAttack.from_json(out.to_json()))


def test_hub_attack_options_bound_the_steps_a_page_may_ask_for():
    spec = {s["name"]: s for s in A.HubAttackOptions.spec()}
    assert (spec["steps"]["low"], spec["steps"]["high"]) == (1, 1000)
    with pytest.raises(ParameterError, match="steps"):
        A.HubAttackOptions(steps=1001)


def test_outdated_jobs_names_jobs_of_other_or_unrecorded_weights(tmp_path):
    from models import registry

    now = registry.card("style_audio")["weights_sha256"]
    for name, extra in (("hub_attack_a.json", {"model": "style_audio", "weights_sha256": now}),
                        ("hub_attack_b.json", {"model": "style_audio", "weights_sha256": "0" * 64}),
                        ("hub_attack_c.json", {})):
        (tmp_path / name).write_text(json.dumps({"embedding": "style_audio"} | extra))
    assert A.outdated_jobs(tmp_path) == ["hub_attack_b.json", "hub_attack_c.json"]

"""xai.concepts.browse: the settings that name a discovery, concept summaries, keeping a discovered concept,
and the share link's state and finding."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests._fakes import FakeModel, RollNet, excerpt_set
from xai.concepts import browse
from xai.concepts import library as concepts
from xai.errors import InputError
from xai.export import finding


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    """A small discovery (K = 3) over the fake excerpt set, computed once."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MUSICXAI_CACHE", str(tmp_path_factory.mktemp("cache")))
    model, excerpts = FakeModel(RollNet()), excerpt_set()
    s = browse.Settings(layer="feat", n_concepts=3)
    assert s.lookup(excerpts, model) == (None, "missing")
    disc, status = s.compute(excerpts, model)
    assert status == "computed"
    assert s.lookup(excerpts, model)[1] == "cached"
    yield model, excerpts, disc
    mp.undo()


def test_settings_key_names_the_model_by_its_weights_and_round_trips_from_a_result(found):
    model, _, disc = found
    s = browse.Settings.of(disc)
    assert s == browse.Settings(layer="feat", method="nmf", n_concepts=3, classes=None, random_state=0)
    assert s.key(model) == ("fake", "weights-1", "feat", "nmf", 3, None, 0)
    assert s.key(FakeModel(sha="other")) != s.key(model)
    assert browse.classes_used(disc) is None


def test_summaries_one_row_per_concept_with_shares_summing_to_one(found):
    _, excerpts, disc = found
    rows = browse.summaries(disc, excerpts, n=5)
    assert [r["concept"] for r in rows] == ["Concept 1", "Concept 2", "Concept 3"]
    assert sum(r["share of the layer"] for r in rows) == pytest.approx(1.0, abs=1e-5)
    for k, r in enumerate(rows):
        imp = disc.importance(k)
        up = max(imp, key=imp.get)
        assert r["raises most"] == f"{up} ({imp[up]:+.2f})"
        assert r["found mostly in"].split(" (")[0] in disc.classes and "/5)" in r["found mostly in"]


def test_keep_makes_a_discovered_concept_with_its_provenance(found, monkeypatch):
    _, excerpts, disc = found
    checked = []
    monkeypatch.setattr(concepts, "check_usable", lambda c: checked.append(c) or c)
    c = browse.keep(disc, excerpts, 1, name="rising", n=concepts.MIN_EXAMPLES, classes=["low"])
    assert checked == [c]  # checked before it is handed back
    assert (c.name, c.origin, c.n_examples) == ("rising", "discovered", concepts.MIN_EXAMPLES)
    assert c.description == f"Concept 2 of {disc.title}."  # a description when none is given
    assert c.metadata["concept_index"] == 1 and c.metadata["weights_sha256"] == "weights-1"
    assert c.metadata["filters"] == {"classes": ["low"], "composers": None}
    assert all(e.label.startswith("discovered, presence ") for e in c.examples)


def test_keep_refuses_a_concept_tcav_could_not_test(found):
    _, excerpts, disc = found
    # The fake excerpts repeat the same scale, so few of them are distinct.
    with pytest.raises(InputError, match="distinct examples"):
        browse.keep(disc, excerpts, 1, name="rising", n=concepts.MIN_EXAMPLES, classes=["low"])


def test_share_state_and_finding_carry_the_view_and_its_numbers(found):
    _, excerpts, disc = found
    state = browse.share_state(disc, 0, model="composer", scope="All classes", n=4, classes=None, composers=None)
    assert state == {"model": disc.params.get("model") or "composer", "layer": "feat", "method": "nmf", "k": 3,
                     "scope": "All classes", "concept": 0, "n": 4, "f_classes": [], "f_composers": []}
    f = finding.discovery_finding(disc, excerpts, 0, state)
    assert f.view == "discover" and f.title == "Concept 1 of feat (NMF, K=3)"
    assert len(f.numbers["top_excerpts"]) == 4 and f.numbers["importance"] == disc.importance(0)
    assert "model" not in f.parameters
    assert browse.file_stem(disc, 0) == "feat_nmf_k3_concept1"


def test_restored_keeps_only_values_the_model_and_page_know():
    model = SimpleNamespace(layers=("block1", "block3"), classes=("bach", "folk"))
    good = {"layer": "block3", "method": "ntd", "k": 8, "scope": "folk", "n": 6, "f_classes": ["folk", "jazz"],
            "concept": 2, "f_composers": ["bach"]}
    assert browse.restored(good, model) == good | {"f_classes": ["folk"]}
    bad = {"layer": "block9", "method": "pca", "k": 7, "scope": "jazz", "n": 5}
    assert browse.restored(bad, model) == {"f_classes": [], "concept": None, "f_composers": []}

"""The reading checks of the built-in piano concepts (``assets/concepts/piano_checks/*.json``) stay true to the
rules and the shipped examples: a rule changed without a new check, or a rebuilt concept whose seeded examples
are no longer the ones read, fails here. A check below 15 confirmed must say why in docs/piano_concepts.md."""

import hashlib
import importlib
import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from training import piano_concepts as pc
from xai.concepts import library as concepts
from xai.concepts import piano_miners as pm

ROOT = Path(__file__).resolve().parents[3]
CHECKS = sorted((ROOT / "assets" / "concepts" / "piano_checks").glob("*.json"))
DOC = ROOT / "docs" / "piano_concepts.md"
MIN_CONFIRMED = 15  # of 20, the bar for a rule that reads right


def _rule(check: dict):
    """The function whose source the check's ``rule_version`` hashes: ``rule_function`` (a dotted path) when
    given, else the concept's rule in :mod:`xai.concepts.piano_miners`."""
    path = check.get("rule_function") or f"xai.concepts.piano_miners.{check['concept'].replace(' ', '_')}"
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_are_checks():
    assert CHECKS, "no reading check files"


@pytest.mark.parametrize("path", CHECKS, ids=[p.stem for p in CHECKS])
def test_check_matches_the_current_rule(path):
    check = _load(path)
    assert check["concept"] in pm.PIANO_MINERS
    assert path.stem == check["concept"].replace(" ", "_")
    source = inspect.getsource(_rule(check))
    assert check["rule_version"] == hashlib.sha256(source.encode()).hexdigest()[:12], (
        f"{check['concept']}: the rule changed since it was read; read its examples again")
    assert "not a musicologist" in check["checked_by"] and check["date"]


@pytest.mark.parametrize("path", CHECKS, ids=[p.stem for p in CHECKS])
def test_check_read_the_shipped_seeded_examples(path):
    check = _load(path)
    c = concepts.builtin(pc.OUT / concepts.PIANO_FILE)[check["concept"]]
    rng = np.random.default_rng([pc.SEED, 99])  # the selection of `piano_concepts check`
    idx = sorted(int(k) for k in rng.choice(c.n_examples, size=min(pc.CHECK_N, c.n_examples), replace=False))
    ex = check["examples"]
    assert [e["index"] for e in ex] == idx
    assert [e["citation"] for e in ex] == [c.examples[k].citation for k in idx], "examples rebuilt: read them again"
    assert check["n_checked"] == len(ex) and check["n_confirmed"] == sum(bool(e["confirmed"]) for e in ex)
    assert all(e["why"] for e in ex)


@pytest.mark.parametrize("path", CHECKS, ids=[p.stem for p in CHECKS])
def test_check_is_in_the_doc_and_a_low_score_says_why(path):
    check = _load(path)
    k, n = check["n_confirmed"], check["n_checked"]
    lines = DOC.read_text(encoding="utf-8").splitlines()
    line = next((ln for ln in lines if check["concept"] in ln.lower() and f"confirmed {k}/{n}" in ln), None)
    assert line, f"docs/piano_concepts.md has no line naming {check['concept']!r} with 'confirmed {k}/{n}'"
    if k < MIN_CONFIRMED:
        assert "fewer than 15" in line, f"{check['concept']}: {k}/{n} confirmed; the doc line should say why"

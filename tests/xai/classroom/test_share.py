"""Share links: round trip, and every kind of bad link refused with a plain sentence."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from xai.classroom import share
from xai.errors import ParameterError


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("MUSICXAI_SECRET", "test-secret")


def test_round_trip_and_url_safe():
    state = {"source": "example", "example": "bach__bwv104.6", "model": "composer", "bar": 12}
    token = share.encode("classify", state)
    assert all(c.isalnum() or c in "-_." for c in token)
    assert share.decode(token) == ("classify", state)


def test_tampered_payload_or_other_secret_is_refused(monkeypatch):
    token = share.encode("classify", {"bar": 3})
    head, payload, sig = token.split(".")
    forged = base64.urlsafe_b64encode(zlib.compress(b'{"state":{"bar":4},"view":"classify"}')).rstrip(b"=").decode()
    with pytest.raises(ParameterError, match="changed after it was made"):
        share.decode(f"{head}.{forged}.{sig}")
    monkeypatch.setenv("MUSICXAI_SECRET", "another installation")
    with pytest.raises(ParameterError, match="changed after it was made"):
        share.decode(token)


@pytest.mark.parametrize("token", ["", "garbage", "v1.abc", "v1.!!.x", "a.b.c", "v1." + "A" * 9000 + ".x"])
def test_malformed_links_are_refused(token):
    with pytest.raises(ParameterError, match="broken|changed"):
        share.decode(token)


def test_older_version_is_refused_plainly():
    token = share.encode("tcav", {"targets": ["bach"]})
    with pytest.raises(ParameterError, match="another version"):
        share.decode("v0." + token.split(".", 1)[1])


def _signed(view, state):
    """A correctly signed token that skips encode's validation, as an attacker with the key could not make,
    but as a schema change between versions might."""
    text = json.dumps({"view": view, "state": state}).encode()
    payload = base64.urlsafe_b64encode(zlib.compress(text)).rstrip(b"=").decode()
    return f"v1.{payload}.{share._sign(('v1.' + payload).encode())}"


def test_schema_refuses_unknown_keys_wrong_types_and_nesting():
    with pytest.raises(ParameterError, match="does not have"):
        share.decode(_signed("classify", {"__class__": "x"}))
    with pytest.raises(ParameterError, match="does not accept"):
        share.decode(_signed("classify", {"bar": "12; rm"}))
    with pytest.raises(ParameterError, match="does not accept"):
        share.decode(_signed("classify", {"bar": True}))
    with pytest.raises(ParameterError, match="does not accept"):
        share.encode("label_noise", {"kind": "evil"})
    # a view without a declared schema takes flat plain values only
    assert share.decode(_signed("newview", {"a": 1, "b": [1, "x"]})) == ("newview", {"a": 1, "b": [1, "x"]})
    with pytest.raises(ParameterError, match="does not accept"):
        share.decode(_signed("newview", {"a": {"nested": 1}}))
    with pytest.raises(ParameterError, match="view that does not exist"):
        share.decode(_signed("../etc", {}))


def test_registered_schema_is_used():
    share.register_schema("zz_test_view", {"k": int, "names": share.List(str)})
    try:
        assert share.decode(share.encode("zz_test_view", {"k": 3, "names": ["a"]}))[1] == {"k": 3, "names": ["a"]}
        with pytest.raises(ParameterError):
            share.encode("zz_test_view", {"other": 1})
    finally:
        share.SCHEMAS.pop("zz_test_view")


def test_secret_file_is_created_once(monkeypatch, tmp_path):
    monkeypatch.delenv("MUSICXAI_SECRET")
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(tmp_path / "lib" / "library.sqlite"))
    token = share.encode("tour", {"step": 2})
    path = tmp_path / "lib" / "secret.key"
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert share.decode(token) == ("tour", {"step": 2})


def test_tuples_and_numpy_numbers_are_made_plain():
    import numpy as np

    token = share.encode("newview2", {"a": (1, 2), "b": np.float32(0.5), "c": np.int64(3)})
    assert share.decode(token) == ("newview2", {"a": [1, 2], "b": 0.5, "c": 3})
    with pytest.raises(ParameterError, match="cannot be put in a link"):
        share.encode("newview2", {"a": object()})


def _signed(view: str, state: dict) -> str:
    """A correctly signed token whose state was never validated (as a hand-edited link re-signed would be)."""
    text = json.dumps({"view": view, "state": state}, separators=(",", ":"), sort_keys=True)
    head, payload = f"v{share.VERSION}", share._b64(zlib.compress(text.encode("utf-8"), 9))
    return f"{head}.{payload}.{share._sign((head + '.' + payload).encode('ascii'))}"


# every view whose page ends with a share panel (pages/*.py: share_panel / restored_state)
SHARED_VIEWS = ("classify", "tcav", "discover", "audio", "label_noise", "tour", "presets", "hubness", "lime", "attack",
                "attribute")


def test_importing_share_alone_knows_every_views_schema():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "from xai.classroom import share; print(' '.join(share.SCHEMAS))"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert set(SHARED_VIEWS) <= set(out)


def test_every_view_a_page_restores_has_a_schema():
    import re
    from pathlib import Path

    pages = Path(__file__).resolve().parents[3] / "pages"
    views = {m for p in pages.glob("*.py") for m in re.findall(r'restored_state\("(\w+)"\)', p.read_text())}
    assert views and views <= set(share.SCHEMAS), views - set(share.SCHEMAS)
    assert views <= set(SHARED_VIEWS)


@pytest.mark.parametrize("view, key, value", [
    ("lime", "samples", "300"), ("lime", "seed", 1.5), ("lime", "input", "somewhere"),
    ("attack", "epsilon", "0.004"), ("attack", "spectral", 1), ("attack", "steps", [10]),
])
def test_lime_and_attack_links_with_a_wrong_typed_key_are_refused_plainly(view, key, value):
    state = {"model": "composer", key: value}
    with pytest.raises(ParameterError, match=f"This link sets '{key}' to a value the page does not accept"):
        share.decode(_signed(view, state))
    with pytest.raises(ParameterError, match="does not accept"):
        share.encode(view, state)


@pytest.mark.parametrize("view, state", [
    ("lime", {"input": "score", "source": "example", "example": "folk: EmpressClog", "segments": "bars-registers",
              "model": "composer", "target": "folk", "start_bar": 1, "n_bars": 4, "samples": 300, "seed": 7,
              "kernel_width": 0.25, "stability_seeds": 2, "bars_per_segment": 2, "n_registers": 3}),
    ("attack", {"clip_source": "example", "clip_example": "x", "model": "instrument", "method": "pgd",
                "target": "", "epsilon": 0.004, "steps": 30, "start_s": 0.0, "spectral": False, "lr": 1e-4}),
    ("hubness", {"embedding": "style_audio", "k": 10, "reduction": "mp", "item": 3}),
])
def test_lime_attack_and_hubness_links_round_trip(view, state):
    assert share.decode(share.encode(view, state)) == (view, state)
    with pytest.raises(ParameterError, match="does not have"):
        share.encode(view, {**state, "nonsense": 1})


def test_view_index_names_views_by_their_file_and_keeps_their_order():
    from collections import namedtuple

    View = namedtuple("View", "path title")
    views = [View("pages/home.py", "Home"), View("pages/classify.py", "Classify a piece")]
    index = share.view_index(views)
    assert list(index) == ["home", "classify"] and index["classify"].title == "Classify a piece"
    assert share.view_index([]) == {}

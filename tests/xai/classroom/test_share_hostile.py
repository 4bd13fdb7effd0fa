"""Hostile share links: a plain refusal every time, checked before any parsing that could crash or recurse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib

import pytest

from xai.classroom import presets, share
from xai.errors import ParameterError


@pytest.fixture(autouse=True)
def _secret(monkeypatch, tmp_path):
    monkeypatch.setenv("MUSICXAI_SECRET", "share-hostile-test")
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(tmp_path / "library.sqlite"))


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _signed(text: str) -> str:
    """A token for any JSON text, signed with the test secret (as only the installation itself could)."""
    payload = _b64(zlib.compress(text.encode("utf-8")))
    mac = hmac.new(b"share-hostile-test", f"v1.{payload}".encode("ascii"), hashlib.sha256).digest()[:16]
    return f"v1.{payload}.{_b64(mac)}"


@pytest.mark.parametrize("sig", ["%C3%A9", "é", "\u00e9\u00e9", "ÿ" * 22, "a=b", "a.b", "\x00", "a" * 5, "+/+/"])
def test_a_signature_that_is_not_base64url_is_a_broken_link(sig):
    with pytest.raises(ParameterError, match="broken"):
        share.decode(f"v1.x.{sig}")


def test_a_non_ascii_payload_is_a_broken_link():
    token = share.encode("tour", {"step": 2})
    head, payload, sig = token.split(".")
    with pytest.raises(ParameterError, match="broken"):
        share.decode(f"{head}.{payload}é.{sig}")


def test_a_valid_link_still_opens_and_a_changed_signature_is_named():
    token = share.encode("tour", {"step": 2})
    assert share.decode(token) == ("tour", {"step": 2})
    head, payload, sig = token.split(".")
    forged = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    with pytest.raises(ParameterError, match="changed after it was made"):
        share.decode(f"{head}.{payload}.{forged}")


@pytest.mark.parametrize("depth", [5, 1_000, 100_000])
def test_deeply_nested_json_in_a_signed_link_is_refused_without_recursion(depth):
    text = json.dumps({"view": "tour", "state": {"step": 1}})[:-2] + ', "x": ' + "[" * depth + "]" * depth + "}}"
    with pytest.raises(ParameterError, match="broken"):
        share.decode(_signed(text))


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"view": "presets", "state": {"preset": "[[[[[[[[ {{{{ ]]"}})
    assert share.decode(_signed(text)) == ("presets", {"preset": "[[[[[[[[ {{{{ ]]"})


def test_a_signed_link_that_unpacks_too_far_is_refused():
    text = json.dumps({"view": "presets", "state": {"preset": "x" * (share.MAX_JSON_BYTES + 10)}})
    with pytest.raises(ParameterError, match="broken"):
        share.decode(_signed(text))


def test_save_preset_from_a_hostile_link_is_a_plain_refusal():
    with pytest.raises(ParameterError, match="broken"):
        presets.from_link("http://localhost:8501/?share=v1.x.%C3%A9")
    with pytest.raises(ParameterError, match="broken"):
        presets.from_link("v1.x.é")

"""The teacher password: salted scrypt on disk, a minimum length, slower answers after wrong guesses, old files
migrated, and a session key in place of the password."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from xai.classroom import presets
from xai.errors import ParameterError


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICXAI_LIBRARY", str(tmp_path / "library.sqlite"))
    monkeypatch.setenv("MUSICXAI_SECRET", "teacher-test")
    monkeypatch.delenv("MUSICXAI_PRESETS", raising=False)
    monkeypatch.delenv("MUSICXAI_TEACHER_PASSWORD", raising=False)
    monkeypatch.setattr(presets, "_FAILED", {"count": 0})


def _setup_file():
    return presets.default_path().parent / "teacher.json"


def _preset(name="Week 1"):
    return presets.Preset(name=name, view="classify", state={"source": "example", "example": "bach: bwv20.7"})


def test_the_setup_file_holds_a_salted_scrypt_hash_readable_by_its_owner_only():
    path = presets.set_teacher_password("correct horse")
    doc = json.loads(path.read_text())
    assert set(doc) == {"scrypt"} and doc["scrypt"]["n"] >= 2**14
    assert "correct horse" not in path.read_text()
    assert hashlib.sha256(b"correct horse").hexdigest() not in path.read_text()
    assert path.stat().st_mode & 0o077 == 0
    salt = doc["scrypt"]["salt"]
    presets.set_teacher_password("correct horse")
    assert json.loads(path.read_text())["scrypt"]["salt"] != salt  # a new salt each time
    assert presets.check_password("correct horse")


@pytest.mark.parametrize("password", ["", "a", "1234567"])
def test_a_short_password_is_refused(password):
    with pytest.raises(ParameterError, match=f"at least {presets.MIN_PASSWORD} characters"):
        presets.set_teacher_password(password)


def test_a_short_password_from_the_environment_leaves_teacher_mode_off_with_a_reason(monkeypatch):
    monkeypatch.setenv("MUSICXAI_TEACHER_PASSWORD", "x")
    assert not presets.teacher_mode_available()
    assert "fewer than 8 characters" in presets.teacher_mode_problem()
    with pytest.raises(ParameterError, match="fewer than 8 characters"):
        presets.PresetStore().save(_preset(), password="x")


def test_wrong_passwords_make_the_next_answer_wait_longer():
    presets.set_teacher_password("correct horse")
    times = []
    for _ in range(3):
        t = time.perf_counter()
        assert not presets.check_password("wrong guess")
        times.append(time.perf_counter() - t)
    assert times[0] >= 0.25 and times[1] >= 0.5 and times[2] >= 1.0
    assert presets.check_password("correct horse")  # the right one resets the delay
    t = time.perf_counter()
    assert not presets.check_password("wrong again")
    assert time.perf_counter() - t < 0.25 + 0.5


def test_an_old_sha256_file_is_migrated_at_the_next_correct_login():
    path = _setup_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"password_sha256": hashlib.sha256(b"old-secret").hexdigest()}))
    assert presets.teacher_mode_available()
    assert not presets.check_password("not-it-at-all")
    assert "password_sha256" in json.loads(path.read_text())  # a wrong password changes nothing
    assert presets.check_password("old-secret")
    doc = json.loads(path.read_text())
    assert set(doc) == {"scrypt"}
    assert presets.check_password("old-secret")


def test_a_session_keeps_a_key_not_the_password(monkeypatch):
    monkeypatch.setenv("MUSICXAI_TEACHER_PASSWORD", "class-of-2026")
    assert presets.teacher_key("wrong password") is None
    key = presets.teacher_key("class-of-2026")
    assert key and "class-of-2026" not in key and presets.check_key(key)
    store = presets.PresetStore()
    store.save(_preset(), key=key)
    assert [p.name for p in store.list()] == ["Week 1"]
    presets.forget_key(key)
    assert not presets.check_key(key)
    with pytest.raises(ParameterError, match="not the teacher password"):
        store.delete("Week 1", key=key)
    assert not presets.check_key("made-up")

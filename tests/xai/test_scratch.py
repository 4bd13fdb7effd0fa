"""xai._scratch: music21's scratch folder is this user's only (mode 700), set once per process, never shared."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from xai import _scratch


def test_the_scratch_folder_is_this_users_only(private_cache):
    path = _scratch.use_private_scratch()
    assert path == private_cache
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
    from music21 import environment

    assert Path(environment.Environment().getRootTempDir()) == private_cache


def test_a_scratch_folder_left_open_is_closed_again(private_cache):
    private_cache.mkdir(parents=True)
    private_cache.chmod(0o777)
    _scratch.use_private_scratch()
    assert stat.S_IMODE(private_cache.stat().st_mode) == 0o700



def test_scratch_dir_follows_the_cache_variable_and_defaults_to_the_home_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICXAI_CACHE", str(tmp_path / "c"))
    assert _scratch.scratch_dir() == tmp_path / "c" / "music21"
    monkeypatch.delenv("MUSICXAI_CACHE")
    assert _scratch.scratch_dir() == Path.home() / ".cache" / "musicxai" / "music21"


def test_a_file_planted_where_the_folder_should_be_is_refused(private_cache):
    private_cache.parent.mkdir(parents=True)
    private_cache.write_text("not a folder")
    with pytest.raises((PermissionError, FileExistsError)):
        _scratch.use_private_scratch()


def test_the_folder_is_set_once_per_process(private_cache, monkeypatch):
    first = _scratch.use_private_scratch()
    monkeypatch.setenv("MUSICXAI_CACHE", str(private_cache.parent.parent / "elsewhere"))
    assert _scratch.use_private_scratch() == private_cache.parent.parent / "elsewhere" / "music21"
    assert not (private_cache.parent.parent / "elsewhere").exists()  # reported, not created: already done
    assert first == private_cache

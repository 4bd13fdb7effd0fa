"""The bundled example list: read from examples.json, tolerant of a missing or broken list."""

from __future__ import annotations

import json

import pytest

from xai.errors import InputError
from xai.symbolic import examples


def test_examples_point_at_existing_files_with_a_class():
    for name, path in examples.EXAMPLES.items():
        assert path.is_file()
        info = examples.example_info(name)
        assert info["title"] == name and info["path"] == path


def test_list_is_read_and_entries_without_files_are_skipped(tmp_path):
    (tmp_path / "a.mid").write_bytes(b"MThd")
    entries = [
        {"file": "a.mid", "title": "A tune", "class": "folk", "source": "test"},
        {"file": "missing.krn", "title": "Gone", "class": "bach", "source": "test"},
        "not an entry",
    ]
    (tmp_path / "examples.json").write_text(json.dumps(entries))
    got = examples._read(tmp_path)
    assert list(got) == ["A tune"]
    assert got["A tune"]["class"] == "folk" and got["A tune"]["path"] == tmp_path / "a.mid"


@pytest.mark.parametrize("content", [None, "{not json", '{"file": "a.mid"}'])
def test_missing_or_broken_list_means_no_examples(tmp_path, content):
    if content is not None:
        (tmp_path / "examples.json").write_text(content)
    assert examples._read(tmp_path) == {}


def test_unknown_example_is_a_plain_error():
    with pytest.raises(InputError, match="no example called"):
        examples.example_path("No such piece")


def test_example_file_and_hash_index_name_the_same_files():
    if not examples.EXAMPLES:
        pytest.skip("no examples shipped")
    import hashlib

    index = examples.by_sha256()
    assert sorted(index.values()) == sorted(examples.EXAMPLES)
    for name in examples.EXAMPLES:
        data, filename = examples.example_file(name)
        assert filename == examples.EXAMPLES[name].name and index[hashlib.sha256(data).hexdigest()] == name
    with pytest.raises(InputError, match="no example"):
        examples.example_file("not an example")

"""xai.audio.sf2: a compact SoundFont copy plays the kept programs exactly and silences the others."""

import struct

import numpy as np
import pytest

from tests._fakes import record as _record
from xai.audio import dataset as audio_data
from xai.audio import sf2
from xai.symbolic import dataset as data


@pytest.fixture(scope="module")
def rendered():
    """The tiny piece table the test renders from (the same records as tests/xai/audio/test_dataset.py's)."""
    recs, labels = [], []
    for c in range(len(data.CLASSES)):
        for k in range(4):
            recs.append(_record(f"c{c}/p{k}", n_bars=6, pitch0=40 + 6 * c, n_parts=1 + c % 2))
            labels.append(c)
    return data.PieceTable.from_records(recs, labels), None, None


def test_compact_soundfont_keeps_the_kept_programs_exactly(rendered, tmp_path):
    from xai.symbolic import music

    table, _, _ = rendered
    src = music.soundfont_path()
    info = sf2.compact(src, tmp_path / "small.sf2", [0])  # piano only
    assert info["bytes"] < info["source_bytes"] / 2 and info["samples_kept"] > 0
    spec = audio_data.ClipSpec(piece=0, style=0, start_beat=0.0, qpm=120.0, instrument=0, soundfont="timgm6mb",
                               velocity=80, seed=1)
    ex = audio_data.excerpt(table, spec)
    full, small = src.read_bytes(), (tmp_path / "small.sf2").read_bytes()
    np.testing.assert_array_equal(audio_data.render(ex, 0, full), audio_data.render(ex, 0, small))
    violin_full, violin_small = audio_data.render(ex, 40, full), audio_data.render(ex, 40, small)
    assert np.sqrt(np.mean(violin_full**2)) > 1e-3 and np.abs(violin_small).max() < 1e-4  # dropped: silent



def _riff(form: bytes, *chunks: bytes) -> bytes:
    body = form + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _chunk(tag: bytes, payload: bytes) -> bytes:
    pad = b"\0" if len(payload) % 2 else b""
    return tag + struct.pack("<I", len(payload)) + payload + pad


def test_a_file_that_is_no_soundfont_2_is_refused(tmp_path):
    bad = tmp_path / "x.sf2"
    bad.write_bytes(_riff(b"WAVE", _chunk(b"fmt ", b"\0" * 16)))
    with pytest.raises(ValueError):
        sf2.compact(bad, tmp_path / "out.sf2", [0])
    assert not (tmp_path / "out.sf2").exists()


def test_used_samples_grow_with_the_programs_kept():
    from xai.symbolic import music

    buf = music.soundfont_path().read_bytes()
    piano, both = sf2.used_samples(buf, [0]), sf2.used_samples(buf, [0, 40])
    assert piano and piano < both  # the violin reaches samples the piano does not
    assert sf2.used_samples(buf, [0], bank=99) == set()  # no preset of that bank

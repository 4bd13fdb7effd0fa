"""Compact SoundFont 2 copies that keep only the General MIDI programs the audio data set plays.

Why: ``midirenderer`` parses the whole soundfont on every call, and the General MIDI banks the data set renders
with are large (MuseScore General 490 MB, FluidR3 148 MB). :func:`compact` writes a copy in which every sample no
kept preset reaches is replaced by a few frames of silence; the presets, instruments, generators and modulators
are copied unchanged, so the kept programs sound exactly as in the original. Used at data-build time only
(:func:`xai.audio.dataset.soundfont_path`); nothing here runs in the app.

The file format (RIFF ``sfbk``: ``INFO``, ``sdta`` with ``smpl``, ``pdta`` with ``phdr pbag pmod pgen inst ibag
imod igen shdr``) is the SoundFont 2.04 specification's; compressed SoundFont 3 files are refused.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

PAD = 46  # zero frames the specification asks for after each sample
_GEN_INSTRUMENT, _GEN_SAMPLE = 41, 53


def _chunks(buf: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(id, data start, data end) of the RIFF sub-chunks in ``buf[start:end]``."""
    out, pos = [], start
    while pos + 8 <= end:
        cid, size = buf[pos:pos + 4], struct.unpack_from("<I", buf, pos + 4)[0]
        out.append((cid, pos + 8, pos + 8 + size))
        pos += 8 + size + (size & 1)
    return out


def _lists(buf: bytes) -> dict[bytes, tuple[int, int]]:
    """The three LIST chunks of a SoundFont by their type (INFO, sdta, pdta): (data start, data end)."""
    if buf[:4] != b"RIFF" or buf[8:12] != b"sfbk":
        raise ValueError("not a SoundFont 2 file")
    return {buf[s:s + 4]: (s + 4, e) for cid, s, e in _chunks(buf, 12, len(buf)) if cid == b"LIST"}


def used_samples(buf: bytes, programs, bank: int = 0) -> set[int]:
    """Indices of the samples that presets ``programs`` of ``bank`` reach (with their stereo partners)."""
    s, e = _lists(buf)[b"pdta"]
    pd = {cid: buf[a:b] for cid, a, b in _chunks(buf, s, e)}
    phdr = [struct.unpack_from("<20sHHH", pd[b"phdr"], i) for i in range(0, len(pd[b"phdr"]), 38)]
    pbag = [struct.unpack_from("<HH", pd[b"pbag"], i)[0] for i in range(0, len(pd[b"pbag"]), 4)]
    pgen = [struct.unpack_from("<HH", pd[b"pgen"], i) for i in range(0, len(pd[b"pgen"]), 4)]
    inst = [struct.unpack_from("<20sH", pd[b"inst"], i)[1] for i in range(0, len(pd[b"inst"]), 22)]
    ibag = [struct.unpack_from("<HH", pd[b"ibag"], i)[0] for i in range(0, len(pd[b"ibag"]), 4)]
    igen = [struct.unpack_from("<HH", pd[b"igen"], i) for i in range(0, len(pd[b"igen"]), 4)]
    instruments = set()
    for k in range(len(phdr) - 1):
        _, preset, pbank, bag = phdr[k]
        if pbank == bank and preset in set(programs):
            for b in range(bag, phdr[k + 1][3]):
                instruments |= {amt for op, amt in pgen[pbag[b]:pbag[b + 1]] if op == _GEN_INSTRUMENT}
    samples = set()
    for i in instruments:
        for b in range(inst[i], inst[i + 1]):
            samples |= {amt for op, amt in igen[ibag[b]:ibag[b + 1]] if op == _GEN_SAMPLE}
    shdr = pd[b"shdr"]
    links = {i: struct.unpack_from("<H", shdr, 46 * i + 42)[0] for i in samples}
    n = len(shdr) // 46 - 1
    return samples | {v for v in links.values() if v < n}


def compact(src: Path, dst: Path, programs, bank: int = 0) -> dict:
    """Write ``dst``: ``src`` with every sample that presets ``programs`` never use silenced. Returns sizes."""
    buf = src.read_bytes()
    if buf[8:12] == b"sfbk" and b"ifil" in buf[:200] and buf[buf.index(b"ifil") + 8] == 3:
        raise ValueError(f"{src.name} is a compressed SoundFont 3; install its uncompressed .sf2")
    lists = _lists(buf)
    smpl = next((a, b) for cid, a, b in _chunks(buf, *lists[b"sdta"]) if cid == b"smpl")
    pcm = np.frombuffer(buf, dtype="<i2", count=(smpl[1] - smpl[0]) // 2, offset=smpl[0])
    keep = used_samples(buf, programs, bank)
    s, e = lists[b"pdta"]
    pd = {cid: (a, b) for cid, a, b in _chunks(buf, s, e)}
    shdr = bytearray(buf[slice(*pd[b"shdr"])])
    parts, pos = [], 0
    for i in range(len(shdr) // 46 - 1):
        name, start, end, ls, le, rest = struct.unpack_from("<20sIIII10s", shdr, 46 * i)
        if i in keep:
            data = pcm[start:end]
            new = (pos, pos + data.size, pos + ls - start, pos + le - start)
        else:
            data = np.zeros(8, "<i2")
            new = (pos, pos + 8, pos, pos + 8)
        parts += [data, np.zeros(PAD, "<i2")]
        struct.pack_into("<20sIIII10s", shdr, 46 * i, name, *new, rest)
        pos += data.size + PAD
    new_smpl = np.concatenate(parts).astype("<i2").tobytes()
    sdta = b"sdta" + b"smpl" + struct.pack("<I", len(new_smpl)) + new_smpl
    pdta = b"pdta" + b"".join(cid + struct.pack("<I", len(d)) + d + b"\0" * (len(d) & 1) for cid, d in (
        (cid, bytes(shdr) if cid == b"shdr" else buf[a:b]) for cid, (a, b) in pd.items()))
    info = buf[lists[b"INFO"][0] - 4:lists[b"INFO"][1]]
    body = b"sfbk" + b"".join(b"LIST" + struct.pack("<I", len(x)) + x for x in (info, sdta, pdta))
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    tmp.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    tmp.replace(dst)
    return {"source_bytes": len(buf), "bytes": dst.stat().st_size, "samples_kept": len(keep)}

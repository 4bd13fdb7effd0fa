"""Write a corpus of hostile uploads (and a few honest ones) into a folder, the same files for the same seed.

Every class of input that once hurt the server (issue #17) is here, with variations, in every format the app
reads: memory bombs hidden in tiny files (metres of 1/65536 or 99,999,999 beats, note lengths of 99,999,999),
values that crash a reader (a tempo of 0, a time-signature exponent of 255, a 201-byte delta time), files that
take a parser minutes (10,000 ABC notes, 200,000 rests in a 25-kB ``.mxl``, 20,000 MusicXML notes), damaged
and truncated files, random byte flips of honest files, and honest files as controls. ``tests/xai/
test_hostile_corpus.py`` loads each through the upload loaders and counts refused / accepted / over budget /
traceback.

Usage::

    python scripts/hostile_corpus.py OUT_DIR [--seed 17]

Prints how many files of each format it wrote. Nothing is downloaded; everything is made from code.
"""

from __future__ import annotations

import argparse
import io
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

__all__ = ["generate", "write", "main"]


# --- MIDI ----------------------------------------------------------------------------------------------------------


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _midi(tracks: list[bytes], *, fmt: int = 1, division: int = 480, n_tracks: int | None = None) -> bytes:
    head = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks) if n_tracks is None else n_tracks, division)
    return head + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


def _end() -> bytes:
    return b"\x00\xff\x2f\x00"


def _notes(pitches, *, ticks: int = 480, channel: int = 0, gap: int = 0) -> bytes:
    out = b""
    for p in pitches:
        out += _varlen(gap) + bytes([0x90 | channel, p, 80]) + _varlen(ticks) + bytes([0x80 | channel, p, 0])
    return out


def _meta(kind: int, payload: bytes, delta: int = 0) -> bytes:
    return _varlen(delta) + bytes([0xFF, kind]) + _varlen(len(payload)) + payload


def _tempo(us: int) -> bytes:
    return _meta(0x51, us.to_bytes(3, "big"))


def _timesig(num: int, exp: int) -> bytes:
    return _meta(0x58, bytes([num, exp, 24, 8]))


_SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def _honest_midi(rng: random.Random, n: int = 16) -> bytes:
    melody = [rng.randint(55, 79) for _ in range(n)]
    bass = [rng.randint(36, 54) for _ in range(n // 2)]
    return _midi([_tempo(500_000) + _timesig(4, 2) + _end(),
                  _notes(melody, ticks=240) + _end(), _notes(bass, ticks=480) + _end()])


def _midi_files(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    body = _notes(_SCALE) + _end()
    for us in (0, 1, 59_999, 60_000, 500_000, 0xFFFFFF):
        yield f"tempo_{us}.mid", _midi([_tempo(us) + body])
    for exp in (0, 3, 6, 7, 8, 16, 31, 64, 127, 255):
        yield f"timesig_exp_{exp}.mid", _midi([_timesig(4, exp) + body])
    for num in (0, 1, 64, 65, 255):
        yield f"timesig_num_{num}.mid", _midi([_timesig(num, 2) + body])
    yield "timesig_1_65536_late.mid", _midi([body[:-4] + _timesig(1, 16) + _varlen(480 * 64) + b"\xff\x2f\x00"])
    for n_bytes in (5, 8, 50, 201):
        delta = b"\x81" * (n_bytes - 1) + b"\x00"
        yield f"varlen_delta_{n_bytes}.mid", _midi([delta + b"\x90\x3c\x50" + _varlen(480) + b"\x80\x3c\x00"
                                                    + _end()])
    yield "varlen_meta_length_9.mid", _midi([b"\x00\xff\x01" + b"\xff" * 8 + b"\x01" + b"abc" + body])
    yield "sysex_huge_length.mid", _midi([b"\x00\xf0" + _varlen(0x0FFFFFFF) + b"\x01\x02" + body])
    yield "meta_short_tempo.mid", _midi([_meta(0x51, b"\x00") + body])
    yield "meta_short_timesig.mid", _midi([_meta(0x58, b"\x04") + body])
    yield "long_rest_beats.mid", _midi([_notes([60]) + _varlen(0x0FFFFFFF) + b"\x90\x3e\x50"
                                        + _varlen(1) + b"\x80\x3e\x00" + _end()])
    yield "long_rest_tiny_division.mid", _midi([_notes([60], ticks=1) + _varlen(0x0FFFFFF) + b"\x90\x3e\x50"
                                                + _varlen(1) + b"\x80\x3e\x00" + _end()], division=1)
    for division in (0, 1, 0x7FFF, 0x8000 | 0x1E28, 0xFFFF):
        yield f"division_{division}.mid", _midi([body], division=division)
    for n_tracks in (0, 65, 1000, 65_535):
        yield f"claims_{n_tracks}_tracks.mid", _midi([body], n_tracks=n_tracks)
    yield "type_2.mid", _midi([body, body], fmt=2)
    yield "format_7.mid", _midi([body], fmt=7)
    yield "running_status_orphan.mid", _midi([b"\x00\x3c\x50" + body])
    yield "no_note_off.mid", _midi([b"\x00\x90\x3c\x50" + _varlen(4800) + b"\x90\x3e\x50" + _end()])
    yield "drums_only.mid", _midi([_notes(_SCALE, channel=9) + _end()])
    yield "no_notes.mid", _midi([_tempo(500_000) + _end()])
    yield "many_events.mid", _midi([b"\x00\xb0\x07\x64" + b"\x00\x07\x64" * 600_000 + body])
    many = [rng.randint(40, 90) for _ in range(60_000)]
    yield "notes_60000.mid", _midi([_notes(many, ticks=1) + _end()])
    yield "tempo_changes_50000.mid", _midi([b"".join(_varlen(1) + b"\xff\x51\x03\x07\xa1\x20" for _ in range(50_000))
                                            + body])
    yield "bad_chunk_size.mid", _midi([body])[:18] + b"\xff\xff\xff\xff" + body
    yield "header_length_99.mid", b"MThd" + struct.pack(">IHHH", 99, 1, 1, 480) + b"MTrk" + struct.pack(">I", 4) \
        + _end()
    yield "empty_track.mid", _midi([b""])
    yield "header_only.mid", _midi([])
    yield "not_midi.mid", bytes(rng.randrange(256) for _ in range(200))
    yield "text_as_midi.mid", b"X:1\nK:C\nCDEF|\n"
    honest = _honest_midi(rng, 32)
    for i in range(15):
        cut = int(len(honest) * (i + 1) / 16)
        yield f"truncated_{i:02d}.mid", honest[:cut]
    for i in range(30):
        yield f"flipped_{i:02d}.mid", _flip(rng, honest, 1 + i % 5, skip=14)
    for i in range(8):
        yield f"honest_{i}.mid", _honest_midi(rng, 8 + 8 * i)


def _flip(rng: random.Random, data: bytes, n: int, *, skip: int = 0) -> bytes:
    out = bytearray(data)
    for _ in range(n):
        i = rng.randrange(skip, len(out))
        out[i] = rng.randrange(256)
    return bytes(out)


# --- ABC -----------------------------------------------------------------------------------------------------------


def _abc(header: str = "M:4/4\nL:1/8\n", body: str = "CDEF GABc|cBAG FEDC|") -> str:
    return f"X:1\nT:Hostile\n{header}K:C\n{body}\n"


def _abc_notes(n: int, rng: random.Random) -> str:
    notes = [rng.choice("CDEFGABcdefgab") for _ in range(n)]
    return "\n".join(" ".join(notes[i:i + 8]) + " |" for i in range(0, n, 8))


def _abc_files(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    for metre in ("99999999/4", "1/65536", "0/4", "3/0", "4/3", "65/4", "64/64", "(2+3+99999)/8", "2+2+3/8",
                  "99999999", "C", "C|", "none", "6/8", "1/1", "abc/def"):
        safe = metre.replace("/", "_").replace("|", "bar").replace("(", "").replace(")", "").replace("+", "p")
        yield f"metre_{safe}.abc", _abc(f"M:{metre}\nL:1/8\n").encode()
    yield "inline_metre_bomb.abc", _abc(body="CDEF|[M:1/65536]GABc|").encode()
    for length in ("1/99999999", "99999/1", "0/8", "1/0", "1/16", "3/8"):
        yield f"length_{length.replace('/', '_')}.abc", _abc(f"M:4/4\nL:{length}\n").encode()
    for tempo in ("0", "1/4=0", "1/4=9999999", "99999999/1=120", "1/4=120", '"Allegro" 1/4=132', "1/4=-5",
                  "C=99999"):
        safe = "".join(c if c.isalnum() else "_" for c in tempo)
        yield f"tempo_{safe}.abc", _abc(f"M:4/4\nL:1/8\nQ:{tempo}\n").encode()
    for body in ("C99999999 D|", "C/99999999 D|", "Z99999|", "Z9999999|", "(99999CDE|", "c" + "/" * 400 + " D|",
                 "C>>>>>>>>>>>>>>>>>>>D|", "[CEG" * 200 + "|", "{" * 300 + "C|", "(" * 300 + "C|",
                 "C" + "'" * 500 + "|", "C" + "," * 500 + "|", "^^^^^^^^^^C|", "|:" * 500 + "C|",
                 '"' * 301 + "C|", "!" * 301 + "C|", "C-" * 500 + "C|", "[1" * 300 + "C|"):
        yield f"body_{len(body)}_{zlib.crc32(body.encode()) % 9973}.abc", _abc(body=body).encode()
    for n in (2_000, 3_500, 10_000, 30_000):
        yield f"notes_{n}.abc", _abc(body=_abc_notes(n, rng)).encode()
    yield "voices_200.abc", ("X:1\nM:4/4\nL:1/4\n" + "".join(f"V:{i}\n" for i in range(200)) + "K:C\n"
                             + "".join(f"[V:{i}] CDEF|\n" for i in range(200))).encode()
    yield "tunes_2000.abc", "".join(_abc(body="CDEF|") + "\n" for _ in range(2000)).encode()
    yield "no_key.abc", b"X:1\nT:No key\nCDEF|\n"
    yield "no_fields.abc", b"CDEF GABc\n"
    yield "binary.abc", bytes(rng.randrange(256) for _ in range(300))
    yield "nul_bytes.abc", _abc().encode() + b"\x00" * 10
    yield "utf16_bomb_prefix.abc", b"\xff\xfe" + _abc().encode("utf-16-le")
    honest = _abc(body=_abc_notes(64, rng)).encode()
    for i in range(12):
        yield f"truncated_{i:02d}.abc", honest[: int(len(honest) * (i + 1) / 13)]
    for i in range(20):
        yield f"flipped_{i:02d}.abc", _flip(rng, honest, 1 + i % 4, skip=4)
    for i in range(6):
        yield f"honest_{i}.abc", _abc(f"M:{rng.choice(['3/4', '4/4', '6/8'])}\nL:1/8\n",
                                      _abc_notes(16 + 16 * i, rng)).encode()


# --- Humdrum -------------------------------------------------------------------------------------------------------


def _kern(interp: str = "*M4/4", tokens: list[str] | None = None, spines: int = 1) -> str:
    tokens = tokens if tokens is not None else ["4c", "4d", "4e", "4f", "4g", "4a", "4b", "4cc"]
    lines = ["\t".join(["**kern"] * spines), "\t".join([interp] * spines) if interp else "\t".join(["*"] * spines)]
    for i, t in enumerate(tokens):
        if i % 4 == 0:
            lines.append("\t".join([f"={i // 4 + 1}"] * spines))
        lines.append("\t".join([t] * spines))
    lines.append("\t".join(["*-"] * spines))
    return "\n".join(lines) + "\n"


def _kern_files(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    for interp in ("*M99999999/4", "*M1/65536", "*M0/4", "*M3/0", "*M65/4", "*M2+3+99999/8", "*M6/8", "*MM0",
                   "*MM99999999", "*MM-5", "*MM120", "*M4/4\n*MM0", "*met(c)", "*k[f#c#]"):
        safe = "".join(c if c.isalnum() else "_" for c in interp)
        yield f"interp_{safe}.krn", _kern(interp).encode()
    for token in ("0000000c", "00c", "99999999c", "1%0c", "1%99999999c", "3%2c", "4...........c", "1025c",
                  "4" + "c" * 500, "4c" + "#" * 500, "[4c", "4r", "16ccc", "4c 4e 4g", "4X"):
        safe = "".join(c if c.isalnum() else "_" for c in token)[:30]
        yield f"token_{safe}.krn", _kern(tokens=[token] * 4).encode()
    for n in (3_000, 8_000, 30_000):
        yield f"tokens_{n}.krn", _kern(tokens=[f"16{rng.choice('cdefgab')}" for _ in range(n)]).encode()
    yield "spines_100.krn", _kern(spines=100).encode()
    yield "spines_40.krn", _kern(spines=40).encode()
    split = "**kern\n" + "".join("\t".join(["*^"] + ["*"] * (2**i - 1)) + "\n" for i in range(0, 12)) + "4c\n*-\n"
    yield "spine_split_bomb.krn", split.encode()
    yield "no_kern.krn", b"**text\nhello\n*-\n"
    yield "only_header.krn", b"**kern\n*-\n"
    yield "binary.krn", bytes(rng.randrange(256) for _ in range(300))
    yield "empty_lines.krn", b"\n" * 100_000 + _kern().encode()
    honest = _kern(tokens=[f"8{rng.choice('cdefgab')}" for _ in range(48)]).encode()
    for i in range(10):
        yield f"truncated_{i:02d}.krn", honest[: int(len(honest) * (i + 1) / 11)]
    for i in range(16):
        yield f"flipped_{i:02d}.krn", _flip(rng, honest, 1 + i % 4, skip=8)
    for i in range(4):
        yield f"honest_{i}.krn", _kern("*M3/4", [f"4{rng.choice('cdefgab')}" for _ in range(12 * (i + 1))]).encode()


# --- MusicXML -------------------------------------------------------------------------------------------------------

_XML_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="3.1"><part-list>'
             '<score-part id="P1"><part-name>Voice</part-name></score-part></part-list><part id="P1">')
_NOTE = "<note><pitch><step>{step}</step><octave>4</octave></pitch><duration>{dur}</duration></note>"
_REST = "<note><rest/><duration>{dur}</duration></note>"


def _xml(beats: str = "4", beat_type: str = "4", divisions: str = "1", notes: str | None = None,
         measures: int = 2, extra: str = "") -> str:
    notes = notes if notes is not None else "".join(_NOTE.format(step=s, dur=1) for s in "CDEF")
    attrs = (f"<attributes><divisions>{divisions}</divisions><time><beats>{beats}</beats>"
             f"<beat-type>{beat_type}</beat-type></time><clef><sign>G</sign><line>2</line></clef></attributes>")
    body = "".join(f'<measure number="{m + 1}">{attrs if m == 0 else ""}{extra if m == 0 else ""}{notes}</measure>'
                   for m in range(measures))
    return _XML_HEAD + body + "</part></score-partwise>\n"


def _mxl(xml: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_member("META-INF/container.xml"), '<?xml version="1.0"?><container><rootfiles>'
                    '<rootfile full-path="score.xml"/></rootfiles></container>')
        zf.writestr(_member("score.xml"), xml)
    return buf.getvalue()


def _xml_files(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    for beats, beat_type in (("99999999", "4"), ("1", "65536"), ("4", "0"), ("0", "4"), ("3+99999", "8"),
                             ("4", "3"), ("65", "4"), ("3+2", "8"), ("-4", "4"), ("1e9", "4"), ("4", "4.5")):
        safe = "".join(c if c.isalnum() else "_" for c in f"{beats}_{beat_type}")
        yield f"time_{safe}.musicxml", _xml(beats, beat_type).encode()
    for div in ("0", "-1", "1000000000000", "0.0001", "abc", "768"):
        yield f"divisions_{''.join(c if c.isalnum() else '_' for c in div)}.xml", _xml(divisions=div).encode()
    for dur in ("99999999", "-4", "0", "1e30", "nan"):
        notes = _NOTE.format(step="C", dur=dur) + _NOTE.format(step="D", dur=1)
        yield f"duration_{''.join(c if c.isalnum() else '_' for c in dur)}.xml", _xml(notes=notes).encode()
    for tempo in ("0", "-60", "99999999", "120"):
        yield f"sound_tempo_{tempo.replace('-', 'm')}.xml", _xml(extra=f'<sound tempo="{tempo}"/>').encode()
    for pm in ("0", "99999", "c. 60"):
        mark = (f"<direction><direction-type><metronome><beat-unit>quarter</beat-unit><per-minute>{pm}"
                "</per-minute></metronome></direction-type></direction>")
        yield f"per_minute_{''.join(c if c.isalnum() else '_' for c in pm)}.xml", _xml(extra=mark).encode()
    tuplet = ("<note><pitch><step>C</step><octave>4</octave></pitch><duration>1</duration><time-modification>"
              "<actual-notes>99999</actual-notes><normal-notes>1</normal-notes></time-modification></note>")
    yield "tuplet_99999.xml", _xml(notes=tuplet * 3).encode()
    rests = _REST.format(dur=1) * 4
    yield "rests_200000.mxl", _mxl(_xml(notes=rests, measures=50_000))
    yield "measures_30000.mxl", _mxl(_xml(notes="", measures=30_000))
    yield "notes_20000.xml", _xml(notes="".join(_NOTE.format(step=rng.choice("CDEFGAB"), dur=1) for _ in range(4)),
                                  measures=5_000).encode()
    yield "notes_2000.xml", _xml(measures=500).encode()
    parts = "".join(f'<score-part id="P{i}"><part-name>p</part-name></score-part>' for i in range(100))
    yield "parts_100.xml", _XML_HEAD.replace('<score-part id="P1"><part-name>Voice</part-name></score-part>',
                                             parts).encode() + b"<measure number='1'/></part></score-partwise>"
    xxe = ('<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           + _xml().split("?>", 1)[1].replace("<part-name>Voice", "<part-name>&x;"))
    yield "xxe.xml", xxe.encode()
    lol = '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)) + "]>"
    yield "billion_laughs.xml", (lol + _xml().split("?>", 1)[1].replace("Voice", "&j;")).encode()
    yield "zip_bomb.mxl", _mxl(_xml() + " " * 120_000_000)
    yield "mxl_no_score.mxl", _zip_only("readme.txt", b"hello")
    yield "mxl_truncated.mxl", _mxl(_xml())[:200]
    yield "timewise.xml", b'<?xml version="1.0"?><score-timewise version="3.1"></score-timewise>'
    yield "not_a_score.xml", b'<?xml version="1.0"?><html><body>hi</body></html>'
    yield "deep_nesting.xml", (_XML_HEAD + "<measure number='1'>" + "<x>" * 50_000 + "</x>" * 50_000
                               + "</measure></part></score-partwise>").encode()
    yield "binary.xml", bytes(rng.randrange(256) for _ in range(300))
    honest = _xml(measures=12).encode()
    for i in range(12):
        yield f"truncated_{i:02d}.xml", honest[: int(len(honest) * (i + 1) / 13)]
    for i in range(20):
        yield f"flipped_{i:02d}.xml", _flip(rng, honest, 1 + i % 4, skip=40)
    for i in range(4):
        yield f"honest_{i}.musicxml", _xml(rng.choice(["3", "4", "6"]), rng.choice(["4", "8"]),
                                           measures=4 + 4 * i).encode()
    yield "honest.mxl", _mxl(_xml(measures=8))


def _zip_only(member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(_member(member), data)
    return buf.getvalue()


def _member(name: str) -> zipfile.ZipInfo:
    """A zip member with a fixed date, so the same corpus has the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


# --- audio ---------------------------------------------------------------------------------------------------------


def _tone(seconds: float = 3.0, sr: int = 22_050, channels: int = 1):
    import numpy as np

    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.2 * np.sin(2 * np.pi * 3 * t))
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def _encode(x, sr: int, fmt: str, subtype: str | None = None) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, x, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def _ogg_fixed_serial(data: bytes) -> bytes:
    """The Ogg stream with serial number 17 on every page (and the page checksums redone): libvorbis picks a
    random serial, which would make the corpus differ from run to run."""
    out, pos = bytearray(data), 0
    while pos + 27 <= len(out) and out[pos:pos + 4] == b"OggS":
        n_segments = out[pos + 26]
        size = 27 + n_segments + sum(out[pos + 27:pos + 27 + n_segments])
        out[pos + 14:pos + 18] = struct.pack("<I", 17)
        out[pos + 22:pos + 26] = b"\x00\x00\x00\x00"
        out[pos + 22:pos + 26] = struct.pack("<I", _ogg_crc(bytes(out[pos:pos + size])))
        pos += size
    return bytes(out)


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for b in page:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def _wav_header(sr: int, channels: int, bits: int, n_data: int, declared: int | None = None) -> bytes:
    size = n_data if declared is None else declared
    fmt = struct.pack("<HHIIHH", 1, channels, sr, (sr * channels * bits // 8) & 0xFFFFFFFF, (channels * bits // 8) & 0xFFFF,
                      bits)
    return b"RIFF" + struct.pack("<I", min(36 + size, 0xFFFFFFFF)) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" \
        + struct.pack("<I", size)


def _audio_files(rng: random.Random) -> Iterator[tuple[str, bytes]]:
    tone = _tone()
    honest = {"wav": _encode(tone, 22_050, "WAV", "PCM_16"), "flac": _encode(tone, 22_050, "FLAC"),
              "ogg": _ogg_fixed_serial(_encode(tone, 22_050, "OGG", "VORBIS")), "mp3": _encode(tone, 22_050, "MP3")}
    for ext, data in honest.items():
        yield f"honest.{ext}", data
        for pct in (25, 50, 75, 90):
            yield f"truncated_{pct}.{ext}", data[: len(data) * pct // 100]
        for i in range(3):
            yield f"flipped_{i}.{ext}", _flip(rng, data, 2 + i, skip=64)
    pcm = b"\x00\x01" * 22_050
    for sr, ch, bits in ((0, 1, 16), (1, 1, 16), (192_000, 1, 16), (22_050, 0, 16), (22_050, 64, 16),
                         (22_050, 1, 0), (22_050, 1, 7), (22_050, 65_535, 16)):
        yield f"header_sr{sr}_ch{ch}_b{bits}.wav", _wav_header(sr, ch, bits, len(pcm)) + pcm
    yield "claims_4gb.wav", _wav_header(22_050, 1, 16, len(pcm), declared=0xFFFFFFF0) + pcm
    yield "claims_more.wav", _wav_header(22_050, 1, 16, len(pcm), declared=len(pcm) * 4) + pcm
    yield "silent.wav", _encode(tone * 0, 22_050, "WAV", "PCM_16")
    yield "too_short.wav", _encode(tone[:1000], 22_050, "WAV", "PCM_16")
    yield "stereo_48k.flac", _encode(_tone(2.0, 48_000, 2), 48_000, "FLAC")
    yield "png_as.wav", b"\x89PNG\r\n\x1a\n" + bytes(200)
    yield "midi_as.mp3", _midi([_notes(_SCALE) + _end()])
    yield "text_as.ogg", b"OggS" + b"not really" * 20
    yield "riff_only.wav", b"RIFF"


# --- the corpus --------------------------------------------------------------------------------------------------


def generate(seed: int = 17) -> Iterator[tuple[str, bytes]]:
    """Every file of the corpus as ``(relative path, bytes)``: ``midi/``, ``abc/``, ``kern/``, ``musicxml/``,
    ``audio/``.

    Parameters
    ----------
    seed : int
        Seeds the random melodies and byte flips, so a seed always gives the same files.
    """
    for folder, make in (("midi", _midi_files), ("abc", _abc_files), ("kern", _kern_files),
                         ("musicxml", _xml_files), ("audio", _audio_files)):
        rng = random.Random(f"{seed}-{folder}")
        for name, data in make(rng):
            yield f"{folder}/{name}", data


def write(out: Path, seed: int = 17) -> dict[str, int]:
    """Write the corpus under ``out``; returns how many files each format folder got."""
    counts: dict[str, int] = {}
    for rel, data in generate(seed):
        path = Path(out) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        counts[rel.split("/")[0]] = counts.get(rel.split("/")[0], 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command line: ``hostile_corpus.py OUT_DIR [--seed N]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path, help="folder to write the corpus into (created if needed)")
    parser.add_argument("--seed", type=int, default=17, help="seed of the random parts (default 17)")
    args = parser.parse_args(argv)
    counts = write(args.out, args.seed)
    print(" ".join(f"{k}: {v}" for k, v in counts.items()), f"total: {sum(counts.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

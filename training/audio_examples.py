"""Write the bundled audio examples into ``assets/examples/audio/``: ``python -m training.audio_examples``.

Each example is 12 s of a test-split piece (never heard in training), played by a different instrument and
renderer, including renderers the models were not trained on: the held-out FluidR3 soundfont (MIT) and
pretty_midi's sine-wave synthesiser (no soundfont at all). Saved as Ogg Vorbis (small), listed with their
score provenance, instrument and renderer in ``audio_examples.json``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys

import numpy as np

from models.registry import ASSETS
from xai.audio import clip as audio
from xai.audio import dataset as audio_data
from xai.symbolic import dataset as data
from xai.symbolic import music

OUT = ASSETS.parent / "examples" / "audio"
SECONDS = 12.0
# (style class, instrument name, renderer, qpm)
PLAN = (
    ("bach", "choir", "fluidr3", 80.0),
    ("folk", "flute", "sine", 120.0),
    ("palestrina", "organ", "fluidr3", 100.0),
    ("classical", "piano", "timgm6mb", 110.0),
)


def _render(piece: music.Piece, program: int, renderer: str) -> np.ndarray:
    if renderer == "sine":
        import pretty_midi

        pm = pretty_midi.PrettyMIDI(io.BytesIO(music.to_midi_bytes(piece, program=program)))
        x = pm.synthesize(fs=audio.SAMPLE_RATE).astype(np.float32)
    else:
        import midirenderer

        sf2 = audio_data.soundfont_path(renderer).read_bytes()
        x = audio.from_wav_bytes(bytes(midirenderer.render_wave_from(sf2, music.to_midi_bytes(piece, program=program)))).waveform
    x = x[: int(SECONDS * audio.SAMPLE_RATE)]
    return (x / max(np.max(np.abs(x)), 1e-9) * 0.5).astype(np.float32)


def main(argv=None) -> int:
    """Build the bundled example recordings (command line)."""
    import soundfile as sf

    table = data.build()
    test = data.split(table)["test"]
    OUT.mkdir(parents=True, exist_ok=True)
    listing = []
    names = audio_data.INSTRUMENT_NAMES
    for cls, inst, renderer, qpm in PLAN:
        ci = data.CLASSES.index(cls)
        cands = [int(i) for i in test if table.labels[i] == ci and "#" not in table.ids[i]]
        lengths = [table.piece(i).length for i in cands]
        need = SECONDS * qpm / 60.0
        pi = next((i for i, n in sorted(zip(cands, lengths), key=lambda t: t[1]) if n >= need), cands[0])
        p = table.piece(pi)
        ex = dataclasses.replace(p.slice(float(p.bar_starts[0]), float(p.bar_starts[0]) + need), tempi=((0.0, qpm),))
        program = audio_data.INSTRUMENTS[names.index(inst)][1]
        x = _render(ex, program, renderer)
        fname = f"{cls}__{inst}__{renderer}.ogg"
        buf = io.BytesIO()
        sf.write(buf, x, audio.SAMPLE_RATE, format="OGG", subtype="VORBIS")
        (OUT / fname).write_bytes(buf.getvalue())
        listing.append({"file": fname, "title": f"{cls}: {table.ids[pi]} ({inst}, {renderer})", "class": cls,
                        "instrument": inst, "renderer": renderer, "qpm": qpm, "seconds": SECONDS,
                        "source": f"music21 corpus: {table.ids[pi]}, from its first bar (test split)",
                        "in_training_renderers": renderer in audio_data.TRAIN_SOUNDFONTS})
        print(fname, len(buf.getvalue()), "bytes")
    (OUT / "audio_examples.json").write_text(json.dumps(listing, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

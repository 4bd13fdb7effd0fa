"""Symbolic music: reading scores and performances, the Piece model, engraving, examples, classification.

- :mod:`xai.symbolic.music`    Piece: notes, bars, tempo map; bar-aligned windows; piano rolls; MIDI and audio
- :mod:`xai.symbolic.io`       load and validate uploads (MIDI, MusicXML, ABC, Humdrum) -> Piece
- :mod:`xai.symbolic.score`    engraving with verovio, highlighted bars and voices
- :mod:`xai.symbolic.corpus`   music21 corpus pieces by id, engraved on demand
- :mod:`xai.symbolic.examples` bundled held-out example pieces
- :mod:`xai.symbolic.predict`  classify(piece, model) -> Prediction (per piece and per window)
- :mod:`xai.symbolic.dataset`  the cached training corpus (pieces, split by piece, window sets)
"""

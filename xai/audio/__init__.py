"""Recordings: loading, classification by audio models, transcription, the rendered audio data set.

- :mod:`xai.audio.clip`        load and validate recordings -> Clip (mono, 22,050 Hz); windows in seconds
- :mod:`xai.audio.examples`    the example recordings that ship (titles, provenance, files)
- :mod:`xai.audio.predict`     classify_audio(clip, model) -> AudioPrediction; the model's log-mel spectrogram
- :mod:`xai.audio.transcribe`  basic-pitch transcription of a recording -> Piece
- :mod:`xai.audio.dataset`     rendering pieces with soundfonts, augmentation, the cached clip splits
- :mod:`xai.audio.sf2`         compact SoundFont copies keeping only the programs the data set plays (build time)
- :mod:`xai.audio.midlevel`    named mid-level features of an excerpt (targets of the interpretable model)
- :mod:`xai.audio.bottleneck`  how well the interpretable model's bottleneck predicts them, within instruments too
- :mod:`xai.audio.ood`         is a recording outside what a model knows? (Mahalanobis distance in its embedding)
"""

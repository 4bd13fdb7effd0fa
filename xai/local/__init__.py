"""Local explanations of one prediction.

- :mod:`xai.local.core`      LIME's core: options, coalitions, weighted fit, baselines, deletion curve, stability,
                             the result (imports neither of the two below)
- :mod:`xai.local.segments`  musical segmentations for LIME: bars x voices/registers, stems
- :mod:`xai.audio.frontend`  the audio models' learned filter-bank, read for labels and figures
- :mod:`xai.local.lime`      the public face: the core and the segmentations re-exported, and the audio cells
"""

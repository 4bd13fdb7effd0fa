"""Local explanations of one prediction.

- :mod:`xai.local.lime`      LIME core: coalitions, weighted fit, baselines, deletion curve, stability; audio cells
- :mod:`xai.local.segments`  musical segmentations for LIME: bars x voices/registers, stems
"""

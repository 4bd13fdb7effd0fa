"""Concepts: the library of user concepts, built-in miners, TCAV and concept discovery.

- :mod:`xai.concepts.library`    concepts as excerpts with provenance; the SQLite library; import/export
- :mod:`xai.concepts.miners`     built-in rule-based concept miners
- :mod:`xai.concepts.tcav`       CAVs and TCAV scores with random-concept statistics
- :mod:`xai.concepts.discovery`  discovered concepts: NMF / NTD of feature maps, importance, fidelity, excerpts
"""

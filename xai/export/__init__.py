"""Exports of a finding.

- :mod:`xai.export.finding`  any view's result as a self-contained HTML report and as JSON of its numbers
- :mod:`xai.export.report`   the HTML report builder (figures, bar references, audio) and MIDI bundles
"""

"""Batch studies: a declared grid of independent tasks (TCAV, discovery, robustness, veracity, label noise, hub
attack, hubness), run by local processes or a Ray cluster, resumable cell by cell.

``spec`` reads and checks a study file (TOML), ``tasks`` maps each kind of cell to the one function of ``xai`` that
computes it, ``runner`` runs the cells and keeps every finished one on disk. ``python -m xai study STUDY.toml``
is the command line.
"""

from xai.study.runner import StudyReport, run
from xai.study.spec import KINDS, Cell, Study, load, loads

__all__ = ["KINDS", "Cell", "Study", "StudyReport", "load", "loads", "run"]

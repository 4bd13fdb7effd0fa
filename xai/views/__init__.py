"""Figures: pure functions from results to plotly figures and plain tables, one module per topic.

Nothing here computes an explanation or touches a model; each function only draws what it is given, so a page, a
report or a notebook shows the same picture (as librosa keeps ``display`` apart from the analysis).

- :mod:`xai.views.common`       palettes, fonts, base layout, axis ticks
- :mod:`xai.views.symbolic`     a piece and its prediction: probabilities, timeline, piano roll, listening
- :mod:`xai.views.concepts`     TCAV scores and strip, discovered concepts
- :mod:`xai.views.audio`        recordings and audio models
- :mod:`xai.views.local`        LIME explanations
- :mod:`xai.views.attacks`      adversarial comparisons
- :mod:`xai.views.recommender`  hubness
- :mod:`xai.views.classroom`    classroom tools

The figures of a piece and of concepts are re-exported here (``views.piano_roll``, ``views.tcav_scores``), the
figures every page uses.
"""

from xai.views.common import *  # noqa: F403
from xai.views.common import __all__ as _common
from xai.views.concepts import *  # noqa: F403
from xai.views.concepts import __all__ as _concepts
from xai.views.symbolic import *  # noqa: F403
from xai.views.symbolic import __all__ as _symbolic

__all__ = [*_common, *_symbolic, *_concepts]

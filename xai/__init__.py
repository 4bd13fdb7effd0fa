"""xai: ask a music model "why?" in musical terms.

Subpackages by capability (see docs/ARCHITECTURE.md for the map and the data flow)::

    xai.symbolic     scores and performances: Piece, loading, engraving, examples, classification
    xai.audio        recordings: Clip, audio classification, transcription, the rendered data set
    xai.concepts     the concept library, built-in miners, TCAV, concept discovery
    xai.local        local explanations: LIME over musical segments
    xai.attacks      waveform and note attacks, LIME veracity, the robustness study
    xai.recommender  hubness of a k-NN recommender, Mutual Proximity, hub attacks
    xai.classroom    share links, class presets, the label-noise lab
    xai.export       HTML and JSON exports of a finding
    xai.views        pure figure functions, one module per topic
    xai.cli          ``python -m xai ...``, one module per topic
    xai.contract     what every explainer shares: the model protocol, options, progress, results
    xai.errors       the exception family

Pages and scripts import these modules, never the ``_``-prefixed helpers. Subpackages are imported on first use,
so ``import xai`` stays light.
"""

from importlib import import_module

from .errors import InputError, ParameterError, XaiError

_SUBPACKAGES = ("symbolic", "audio", "concepts", "local", "attacks", "recommender", "classroom", "export", "views",
                "cli", "contract")

__all__ = ["XaiError", "InputError", "ParameterError", *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'xai' has no attribute {name!r}")

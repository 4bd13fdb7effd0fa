"""xai: ask a music model "why?" in musical terms.

The public modules, each with one job (imported on first use, so ``import xai`` stays light)::

    xai.io          load and validate uploads -> Piece
    xai.audio       load and validate recordings -> Clip (mono, 22,050 Hz); windows in seconds
    xai.audio_predict  classify_audio(clip, model) -> AudioPrediction (overall and per window)
    xai.audio_views pure figure functions for recordings and audio models
    xai.lime        LIME over musical segments (bars x voices/registers, time x bands, stems) with baselines,
                    deletion check and stability (segmentations in xai.segments, figures in xai.lime_views)
    xai.music       Piece, bar-aligned windows, piano rolls, MIDI and audio
    xai.predict     classify(piece, model) -> Prediction (per piece and per window)
    xai.concepts    the concept library (SQLite), concept examples with provenance
    xai.miners      built-in rule-based concept miners
    xai.tcav        TCAV scores with random-concept statistics
    xai.discovery   discovered concepts: NMF / NTD of feature maps, importance, fidelity, top excerpts, cache
    xai.report      exports: a self-contained HTML report (figures, bars, audio), MIDI bundles
    xai.corpus      music21 corpus pieces by id, with their scores engraved on demand
    xai.views       pure figure functions: result -> plotly figure
    xai.score       engraving with verovio
    xai.examples    bundled held-out example pieces
    xai.cli         ``python -m xai ...``
    xai.adversarial waveform attacks (FGSM, PGD sign-Adam, C&W), SNR, white-noise control
    xai.symbolic_attack  fewest whole-note edits that change a score model's answer
    xai.veracity    does LIME find a planted perturbation? (after Praher, Prinz et al. 2021)
    xai.hubness     k-NN recommender hubness: measures, reductions (MP, LS/NICDM, CSLS), retrieval quality
    xai.embeddings  the recommender's shipped embedding spaces, items' metadata, re-rendering
    xai.hub_attack  waveform hub attack against the recommender, with and without Mutual Proximity
    xai.hubness_views  pure figure functions for hubness
    xai.finding     a result of any view as a self-contained HTML report and as JSON of its numbers
    xai.share       share links: a view's settings as a signed, versioned, validated token
    xai.presets     class presets a teacher saves (teacher password) and students open
    xai.label_noise the label-noise lab: corrupt training labels, train the small model, accuracy curves
    xai.classroom_views  pure figure functions for the classroom views

Pages and scripts import these modules, never the ``_``-prefixed helpers.
"""

from importlib import import_module

from .errors import InputError, ParameterError, XaiError

_MODULES = ("io", "music", "predict", "concepts", "miners", "tcav", "discovery", "report", "views", "score",
            "examples", "cli", "corpus", "audio", "audio_predict", "audio_views", "lime", "segments", "lime_views",
            "hubness", "embeddings", "hub_attack", "hubness_views", "finding", "share", "presets", "label_noise",
            "classroom_views", "adversarial", "adversarial_views", "adversarial_study", "symbolic_attack",
            "veracity")

__all__ = ["XaiError", "InputError", "ParameterError", *_MODULES]


def __getattr__(name: str):
    if name in _MODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'xai' has no attribute {name!r}")

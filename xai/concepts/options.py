"""The options of the concept methods, declared once: TCAV's and concept discovery's.

They live apart from the methods so that the command line and the pages can build their flags and widgets
from them without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from xai.contract import Options, option

__all__ = ["TCAVOptions", "DiscoveryOptions", "SanityOptions", "CORRECTIONS", "CLASSIFIERS", "METHODS", "MIN_SET_SIZE",
           "HOLDOUT"]

CORRECTIONS = ("holm", "bonferroni", "fdr_bh", "none")
CLASSIFIERS = ("logistic", "sgd")
MIN_SET_SIZE = 4  # the smallest concept / random set that still leaves examples to train and to test on


@dataclass(frozen=True)
class TCAVOptions(Options):
    """Options of a TCAV experiment, each with the bounds or choices a page can build its widget from.

    Use :meth:`spec` to list them (name, type, default, bounds/choices, help); invalid values raise
    :class:`~xai.errors.ParameterError` when the options are created.
    """

    n_random: int = option(
        50, low=2, high=500, label="Random sets (the null)",
        help="Random sets tested exactly as the concept is; their scores are the null distribution the concept's "
        "score is compared with (at least 20 for a trustworthy p-value).")
    n_runs: int = option(
        20, low=2, high=200, label="Runs per set",
        help="Runs per concept and per random set; each run resamples the examples by piece (bootstrap) and "
        "draws fresh random counter-examples.")
    cav_test_fraction: float = option(
        0.33, low=0.1, high=0.5, help="Share of concept and random excerpts held out to measure CAV accuracy.", label="Held-out share for CAV accuracy")
    classifier: str = option(
        "logistic", choices=CLASSIFIERS, help="Linear model that finds the CAV: logistic regression or SGD (hinge).", label="Linear classifier")
    alpha: float = option(0.01, low=1e-6, high=100, help="L2 regularisation strength of the linear model.", label="Regularisation (alpha)")
    alpha_significance: float = option(
        0.05, low=1e-4, high=0.5, help="Significance level for the corrected p-values.", label="Significance level")
    correction: str = option(
        "holm", choices=CORRECTIONS, help="Multiple-comparison correction across the (class, layer) tests.", label="Multiple-test correction")
    min_cav_accuracy: float = option(
        0.5, low=0.5, high=1, label="Minimum CAV accuracy",
        help="A floor on the CAVs' held-out accuracy on top of the random baseline (CAVs must also beat random "
        "sets' CAVs at the same layer); 0.5 adds nothing.")
    max_examples: int = option(200, low=MIN_SET_SIZE, high=10_000, help="Most excerpts used per set.", label="Most excerpts per set")


METHODS = ("nmf", "ntd")
HOLDOUT = 0.25  # share of pieces held out by default: enough excerpts on both sides of the shipped set


@dataclass(frozen=True)
class DiscoveryOptions(Options):
    """Options of a factorisation, each with the bounds or choices a page can build its widget from."""

    method: str = option("nmf", choices=METHODS, help="NMF over positions x channels (ICE), or NTD over the tensor.")
    n_concepts: int = option(8, low=1, high=1024, help="Concepts to find (K); at most the layer's channels.")
    max_iter: int = option(400, low=10, high=10_000, help="Most iterations of the factorisation.")
    tol: float = option(1e-4, low=1e-10, high=1e-1, help="Stop when the relative change is below this.")
    excerpt_rank: int = option(
        0, low=0, high=100_000, help="NTD only: rank of the excerpt mode (0: automatic, 4 K capped at the excerpts)."
    )
    holdout: float = option(
        HOLDOUT, low=0.0, high=0.5, label="Held-out share of pieces",
        help="Share of each class's pieces left out of the factorisation; fidelity is also measured on their "
        "excerpts (projected on the fixed concepts), with the chance floor beside it. 0 fits on every excerpt.")
    contrast: bool = option(
        False, label="Two-class mode",
        help="The paper's two-class mode: factorise only the excerpts of two chosen classes and judge fidelity by "
        "which of the two the model prefers, so the concepts separate the two instead of re-finding the classes.")


@dataclass(frozen=True)
class SanityOptions(Options):
    """Options of the TCAV sanity suite (:mod:`xai.concepts.sanity`): how many random concepts, sets and runs.

    The defaults are the shipped numbers' (``python -m xai sanity``); the test suite runs a documented subset.
    """

    n_concepts: int = option(24, low=2, high=1000, label="Random concepts",
                             help="Random concepts (sets of random excerpts) tested as if they were concepts.")
    concept_size: int = option(40, low=MIN_SET_SIZE, high=1000, label="Examples per random concept",
                               help="Excerpts per random concept (the built-in concepts have 40).")
    n_random: int = option(50, low=2, high=500, label="Random sets (the null)", help="As TCAVOptions.n_random.")
    n_runs: int = option(20, low=2, high=200, label="Runs per set", help="As TCAVOptions.n_runs.")
    max_class: int = option(200, low=MIN_SET_SIZE, high=10_000, label="Class excerpts",
                            help="Most excerpts scored per class.")
    n_seeds: int = option(3, low=2, high=20, label="Seeds", help="Seeds of the stability check.")

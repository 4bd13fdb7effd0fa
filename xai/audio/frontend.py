"""The audio models' learned front end (their filter-bank), read for labels and figures.

Pages and other explainers ask these functions instead of reaching into ``model.net.front``: a network without
such a front end (a test fake, another architecture) gets plain defaults instead of an AttributeError.
"""

from __future__ import annotations

import numpy as np

__all__ = ["band_centres_hz", "hop_samples", "learned_filters"]


def band_centres_hz(net) -> tuple[float, ...]:
    """Centre frequencies (Hz) of the network's filter-bank bands; () for a network without such a front end."""
    front = getattr(net, "front", None)
    return tuple(float(c) for c in front.band_centres_hz()) if hasattr(front, "band_centres_hz") else ()


def hop_samples(net) -> int:
    """Hop (samples) between the frames of the network's spectrogram (512 when its front end does not say)."""
    return int(getattr(getattr(net, "front", None), "hop", 512))


def learned_filters(net) -> np.ndarray:
    """The network's learned filter-bank, (bands, FFT bins), as a numpy array."""
    return net.front.filters().detach().numpy()

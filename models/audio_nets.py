"""Audio networks with the front-end inside: waveform -> STFT -> filter bank -> log -> CNN.

Keeping the front-end in the ``nn.Module`` (as in Praher et al.'s veracity code) means one model serves a
waveform attack, a spectrogram attack and LIME on the spectrogram: :meth:`AudioCNN.spectrogram` gives the
model's log filter-bank input, and :meth:`AudioCNN.from_spectrogram` continues from it. Everything is
differentiable with respect to the waveform.

Front-ends
----------
- :class:`MelFrontEnd`: a fixed triangular mel filter bank (HTK mel scale), computed in numpy.
- :class:`LearnableFilterBank`: the same triangles with trainable centre frequencies and lower/upper
  bandwidths (in mel), initialised exactly at the mel bank, so training can move and widen bands
  (an adaptive filter bank in the spirit of learnable front-ends such as LEAF or SincNet).
- :class:`ConvFrontEnd`: a learned strided 1-D convolution over the waveform (Doerfler et al.'s "basic
  filters"), initialised from windowed cosines (and their quadrature sines) at the mel centre
  frequencies, then log band power: every filter tap is trainable.

Classifiers
-----------
- :class:`AudioCNN`: a small CNN (four named ReLU blocks, so feature maps are non-negative for concept
  discovery) over the log filter-bank, pooled over frequency and time, then linear.
- :class:`MidLevelCNN`: the interpretable one. The pooled embedding goes to a linear layer of named
  mid-level features (:data:`xai.audio.midlevel.FEATURES`, in standard units of the training set), and the
  class logits are a *linear* function of those features only, so each class decision can be read as
  weights on named musical qualities (after Chowdhury et al. 2019, "Towards explainable MIR").
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 22_050
N_FFT = 1024
HOP = 512
N_BANDS = 64
F_MIN = 30.0
F_MAX = 11_025.0
LOG_EPS = 1e-6
LAYERS = ("block1", "block2", "block3", "block4")
DEFAULT_LAYER = "block3"


def hz_to_mel(f):
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    """Mel value(s) to Hz (HTK formula), the inverse of hz_to_mel."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_edges(n_bands: int = N_BANDS, f_min: float = F_MIN, f_max: float = F_MAX) -> np.ndarray:
    """n_bands + 2 band edges in mel, equally spaced from f_min to f_max."""
    return np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_bands + 2)


def mel_filterbank(*, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_bands: int = N_BANDS, f_min: float = F_MIN,
                   f_max: float = F_MAX) -> np.ndarray:
    """Triangular mel filters, shape (n_bands, n_fft // 2 + 1), peak 1, evaluated at the FFT bin frequencies."""
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = mel_to_hz(mel_edges(n_bands, f_min, f_max))
    lo, c, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / (c - lo)
    down = (hi - freqs[None, :]) / (hi - c)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


def _mel_to_hz_t(m: torch.Tensor) -> torch.Tensor:
    return 700.0 * (torch.pow(10.0, m / 2595.0) - 1.0)


class PowerSpectrogram(nn.Module):
    """|STFT|^2 of a waveform batch (B, samples) -> (B, n_fft // 2 + 1, frames), Hann window, centred."""

    def __init__(self, n_fft: int = N_FFT, hop: int = HOP):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits for a batch of inputs."""
        s = torch.stft(x, self.n_fft, self.hop, window=self.window, center=True, return_complex=True)
        return s.real**2 + s.imag**2


class MelFrontEnd(nn.Module):
    """waveform (B, samples) -> log mel power (B, n_bands, frames), fixed filters."""

    def __init__(self, *, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, hop: int = HOP, n_bands: int = N_BANDS):
        super().__init__()
        self.sr, self.hop = sr, hop  # every front-end has ``hop``: samples between frames
        self.spec = PowerSpectrogram(n_fft, hop)
        self.register_buffer("fb", torch.from_numpy(mel_filterbank(sr=sr, n_fft=n_fft, n_bands=n_bands)),
                             persistent=False)

    def filters(self) -> torch.Tensor:
        """The filter bank's weights, (bands, frequency bins)."""
        return self.fb

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits for a batch of inputs."""
        return torch.log(torch.matmul(self.filters(), self.spec(x)) + LOG_EPS)

    def band_centres_hz(self) -> np.ndarray:
        """Each band's centre frequency in Hz (for axis labels)."""
        return mel_to_hz(mel_edges(self.fb.shape[0])[1:-1])


class LearnableFilterBank(MelFrontEnd):
    """Triangular filters with trainable centres and lower/upper widths, initialised at the mel bank.

    Filter k rises linearly in Hz from mel c_k - l_k to c_k and falls to c_k + u_k, with
    l_k = exp(log_lower_k) and u_k = exp(log_upper_k) kept positive. At initialisation
    c, l and u are those of :func:`mel_filterbank`, so the two front-ends agree exactly before training.
    """

    def __init__(self, *, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, hop: int = HOP, n_bands: int = N_BANDS):
        super().__init__(sr=sr, n_fft=n_fft, hop=hop, n_bands=n_bands)
        e = mel_edges(n_bands)
        # Centres move in units of the initial band spacing, so one optimiser step size suits every parameter
        # (a centre stored in mel, in the thousands, would barely move at a learning rate of 1e-3).
        self.register_buffer("centre_init", torch.tensor(e[1:-1], dtype=torch.float64), persistent=False)
        self.spacing = float(e[1] - e[0])
        self.centre_shift = nn.Parameter(torch.zeros(n_bands))
        self.log_lower = nn.Parameter(torch.tensor(np.log(e[1:-1] - e[:-2]), dtype=torch.float32))
        self.log_upper = nn.Parameter(torch.tensor(np.log(e[2:] - e[1:-1]), dtype=torch.float32))
        self.register_buffer("bin_hz", torch.linspace(0, sr / 2, n_fft // 2 + 1, dtype=torch.float64),
                             persistent=False)

    def filters(self) -> torch.Tensor:
        """The filter bank's weights, (bands, frequency bins)."""
        # Edges live in mel, the triangles in Hz (as in mel_filterbank); float64 keeps the edges exact.
        c = self.centre_mel[:, None]
        lo = _mel_to_hz_t(c - torch.exp(self.log_lower.double())[:, None])
        hi = _mel_to_hz_t(c + torch.exp(self.log_upper.double())[:, None])
        ch = _mel_to_hz_t(c)
        f = self.bin_hz[None, :]
        return torch.clamp(torch.minimum((f - lo) / (ch - lo), (hi - f) / (hi - ch)), min=0.0).float()

    @property
    def centre_mel(self) -> torch.Tensor:
        """Band centres in mel (float64): the mel bank's plus the learned shift."""
        return self.centre_init + self.spacing * self.centre_shift.double()

    def band_centres_hz(self) -> np.ndarray:
        """Each band's centre frequency in Hz (for axis labels)."""
        return mel_to_hz(self.centre_mel.detach().cpu().numpy())


class ConvFrontEnd(nn.Module):
    """A learned 1-D convolutional filter bank over the waveform (Doerfler et al., "basic filters").

    A strided ``Conv1d`` (kernel ``n_fft``, stride ``hop``, reflect-padded like the centred STFT, so the
    frames line up with :class:`MelFrontEnd`'s) with two filters per band: a Hann-windowed cosine at the
    band's mel centre frequency and its quadrature (the windowed sine). The band's output is the sum of the
    two filters' squared outputs (its power), then ``log``. Each window is as long as the band is narrow
    (half-power width matched to the mel triangle's, at most ``n_fft`` samples), and each pair is scaled so
    that white noise gives the same power as the mel band, so at initialisation the front-end approximates
    the log-mel spectrogram up to the windows' shape. Every tap is trainable.
    """

    def __init__(self, *, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, hop: int = HOP, n_bands: int = N_BANDS):
        super().__init__()
        self.sr, self.n_fft, self.hop, self.n_bands = sr, n_fft, hop, n_bands
        self.conv = nn.Conv1d(1, 2 * n_bands, n_fft, stride=hop, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(self.initial_filters(sr=sr, n_fft=n_fft, n_bands=n_bands))[:, None])

    @staticmethod
    def initial_filters(*, sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_bands: int = N_BANDS) -> np.ndarray:
        """(2 * n_bands, n_fft): rows 2k and 2k + 1 are band k's windowed cosine and sine."""
        edges = mel_to_hz(mel_edges(n_bands))
        lo, centre, hi = edges[:-2], edges[1:-1], edges[2:]
        tri_gain = mel_filterbank(sr=sr, n_fft=n_fft, n_bands=n_bands).sum(axis=1)
        stft_gain = float(np.sum(np.hanning(n_fft + 1)[:-1] ** 2))  # E|X_bin|^2 for unit white noise
        t = np.arange(n_fft) - n_fft / 2
        out = np.zeros((2 * n_bands, n_fft))
        for k in range(n_bands):
            # A Hann window of L samples has a half-power width of about 1.44 sr / L; the triangle's is (hi - lo) / 2.
            length = int(np.clip(round(1.44 * sr / ((hi[k] - lo[k]) / 2)), 16, n_fft))
            win = np.zeros(n_fft)
            start = (n_fft - length) // 2
            win[start : start + length] = np.hanning(length + 1)[:-1]
            scale = np.sqrt(tri_gain[k] * stft_gain / np.sum(win**2))
            out[2 * k] = scale * win * np.cos(2 * np.pi * centre[k] * t / sr)
            out[2 * k + 1] = scale * win * np.sin(2 * np.pi * centre[k] * t / sr)
        return out.astype(np.float32)

    def power(self, x: torch.Tensor) -> torch.Tensor:
        """Band power (B, n_bands, frames) before the log."""
        pad = self.n_fft // 2
        y = self.conv(nn.functional.pad(x[:, None], (pad, pad), mode="reflect"))
        y = y**2
        return y[:, 0::2] + y[:, 1::2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits for a batch of inputs."""
        return torch.log(self.power(x) + LOG_EPS)

    def band_centres_hz(self) -> np.ndarray:
        """Each band's peak frequency now: the maximum of its two filters' summed power response."""
        f, h = self.frequency_responses()
        return f[np.argmax(h, axis=1)]

    def frequency_responses(self, n_freqs: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        """(frequencies in Hz, (n_bands, n_freqs) power response of each band's filter pair)."""
        w = self.conv.weight.detach().cpu().numpy()[:, 0]
        spec = np.abs(np.fft.rfft(w, n=2 * (n_freqs - 1), axis=1)) ** 2
        return np.linspace(0, self.sr / 2, n_freqs), spec[0::2] + spec[1::2]


FRONT_ENDS = {"mel": MelFrontEnd, "learnable": LearnableFilterBank, "conv": ConvFrontEnd}


def frequency_responses(front: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    """(FFT bin frequencies in Hz, (n_bands, n_fft // 2 + 1) responses, each band's peak 1) of any front-end.

    For the STFT front-ends these are the filter-bank weights on power (the mel triangles and the learnable
    bank's triangles); for :class:`ConvFrontEnd`, the power response of each band's filter pair. Either way,
    a band's weight on the power at each frequency, so the banks can be drawn and compared on one axis.
    """
    if isinstance(front, ConvFrontEnd):
        freqs, h = front.frequency_responses(N_FFT // 2 + 1)
    else:
        h = front.filters().detach().cpu().numpy().astype(np.float64)
        freqs = np.linspace(0, front.sr / 2, h.shape[1])
    return freqs, h / np.maximum(h.max(axis=1, keepdims=True), 1e-12)


class _Block(nn.Module):
    """conv 3x3 - BN - ReLU, optionally followed by 2x2 max pooling."""

    def __init__(self, c_in: int, c_out: int, *, pool: bool):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.bn(self.conv(x))))


class AudioCNN(nn.Module):
    """waveform (B, samples) at 22,050 Hz -> (B, n_classes) logits, front-end inside.

    front-end -> per-band BatchNorm -> block1..block4 (ReLU, non-negative) -> mean over frequency,
    then mean + max over time -> dropout -> linear.
    """

    def __init__(self, n_classes: int, *, width: int = 16, front_end: str = "mel", n_bands: int = N_BANDS):
        super().__init__()
        self.front_end_kind = front_end
        self.front = FRONT_ENDS[front_end](n_bands=n_bands)
        self.norm = nn.BatchNorm1d(n_bands)
        w = width
        self.block1 = _Block(1, w, pool=True)
        self.block2 = _Block(w, 2 * w, pool=True)
        self.block3 = _Block(2 * w, 4 * w, pool=True)
        self.block4 = _Block(4 * w, 4 * w, pool=False)
        self.dropout = nn.Dropout(0.3)
        self.embed_dim = 8 * w
        self.head = self._head(n_classes)

    def _head(self, n_classes: int) -> nn.Module:
        return nn.Linear(self.embed_dim, n_classes)

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """The log filter-bank the CNN reads, (B, n_bands, frames): the space of spectrogram attacks and LIME."""
        return self.front(x)

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        """The convolutional features of a log spectrogram, before pooling."""
        h = self.norm(spec).unsqueeze(1)
        for name in LAYERS:
            h = getattr(self, name)(h)
        return h

    def embed_spectrogram(self, spec: torch.Tensor) -> torch.Tensor:
        """The penultimate embedding of a log spectrogram."""
        h = self.features(spec).mean(dim=2)  # over frequency -> (B, C, T)
        return torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate representation of a waveform batch (e.g. for a recommender)."""
        return self.embed_spectrogram(self.spectrogram(x))

    def from_spectrogram(self, spec: torch.Tensor) -> torch.Tensor:
        """The logits from a log spectrogram (the front end skipped)."""
        return self.head(self.dropout(self.embed_spectrogram(spec)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits for a batch of inputs."""
        return self.from_spectrogram(self.spectrogram(x))


class MidLevelCNN(AudioCNN):
    """Interpretable audio classifier: waveform -> named mid-level features -> classes, linear.

    ``midlevel_z(x)`` gives the bottleneck in standard units of the training set (the training targets);
    ``midlevel(x)`` converts them back to the features' own units (notes per second, MIDI pitch, ...)
    with the training mean and standard deviation stored in the weights. The class logits are
    ``classifier(midlevel_z)``, one weight per (class, feature): the explanation is the model.
    """

    def __init__(self, n_classes: int, *, n_midlevel: int = 8, width: int = 16, front_end: str = "mel",
                 n_bands: int = N_BANDS):
        self.n_midlevel = n_midlevel
        super().__init__(n_classes, width=width, front_end=front_end, n_bands=n_bands)
        self.register_buffer("mid_mean", torch.zeros(n_midlevel))
        self.register_buffer("mid_std", torch.ones(n_midlevel))

    def _head(self, n_classes: int) -> nn.Module:
        self.to_midlevel = nn.Linear(self.embed_dim, self.n_midlevel)
        return nn.Linear(self.n_midlevel, n_classes)

    def midlevel_z_from_spectrogram(self, spec: torch.Tensor) -> torch.Tensor:
        """The mid-level features (z-scores) predicted from a log spectrogram."""
        return self.to_midlevel(self.dropout(self.embed_spectrogram(spec)))

    def midlevel_z(self, x: torch.Tensor) -> torch.Tensor:
        """The mid-level features (z-scores) predicted from a waveform."""
        return self.midlevel_z_from_spectrogram(self.spectrogram(x))

    def midlevel(self, x: torch.Tensor) -> torch.Tensor:
        """The mid-level features predicted from a waveform, on their own scale."""
        return self.midlevel_z(x) * self.mid_std + self.mid_mean

    def from_spectrogram(self, spec: torch.Tensor) -> torch.Tensor:
        """The logits from a log spectrogram (the front end skipped)."""
        return self.head(self.midlevel_z_from_spectrogram(spec))

    def forward_both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mid-level in standard units, class logits) in one pass, for training with both losses."""
        z = self.midlevel_z(x)
        return z, self.head(z)


def build(spec: dict) -> AudioCNN:
    """A network from a model card's ``architecture`` (plus ``classes``), as models.registry does."""
    kw = {"width": spec.get("width", 16), "front_end": spec.get("front_end", "mel"),
          "n_bands": spec.get("n_bands", N_BANDS)}
    if spec["type"] == "MidLevelCNN":
        return MidLevelCNN(len(spec["classes"]), n_midlevel=len(spec["midlevel_features"]), **kw)
    return AudioCNN(len(spec["classes"]), **kw)

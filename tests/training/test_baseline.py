import numpy as np

from tests._fakes import scale_piece
from training import baseline
from xai.symbolic import music


def test_histograms_of_a_known_line():
    piece = scale_piece(2)  # C4 C#4 D4 ... one quarter each, one part: 8 notes
    wins = music.windows(piece)
    F = baseline.window_features(piece, wins)
    assert F.shape == (len(wins), baseline.N_FEATURES)
    pc, mel, har = F[0, :12], F[0, 12:37], F[0, 37:]
    assert np.allclose(pc[:8], 1 / 8) and np.allclose(pc[8:], 0)
    assert mel[12 + 1] == 1.0  # every melodic step is +1 semitone
    assert har.sum() == 0  # one voice: no harmonic intervals


def test_harmonic_intervals_of_two_voices_a_third_apart():
    piece = scale_piece(2, parts=2)
    F = baseline.window_features(piece, music.windows(piece))
    assert F[0, 37 + 4] == 1.0  # major third between the voices at every onset

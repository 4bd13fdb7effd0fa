"""The audio models' front end read for labels and figures, with defaults for a network without one."""

import torch

from models.audio_nets import MelFrontEnd
from xai.audio import frontend


def test_front_end_helpers_read_the_network():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.front = MelFrontEnd()

    net = Net()
    centres = frontend.band_centres_hz(net)
    assert len(centres) > 10 and all(a < b for a, b in zip(centres, centres[1:]))
    assert frontend.hop_samples(net) == getattr(net.front, "hop", 512)
    assert frontend.band_centres_hz(torch.nn.Linear(2, 2)) == () and frontend.hop_samples(torch.nn.Linear(2, 2)) == 512
    assert frontend.learned_filters(net).shape[0] == len(centres)

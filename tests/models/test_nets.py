import torch

from models import nets
from training.train import transpose_batch


def test_shapes_and_named_non_negative_blocks():
    torch.manual_seed(0)
    net = nets.PianoRollCNN(6, width=8).eval()
    x = torch.rand(3, 2, 88, 64)
    assert net(x).shape == (3, 6)
    assert net.embed(x).shape == (3, 32)
    h = net.stem(x)
    expected = {"block1": (44, 32), "block2": (22, 16), "block3": (11, 8), "block4": (11, 8)}
    for name in nets.LAYERS:
        h = getattr(net, name)(h)
        assert tuple(h.shape[2:]) == expected[name]
        assert float(h.min()) >= 0.0  # ReLU maps: concept discovery needs non-negative features
    assert nets.DEFAULT_LAYER in nets.LAYERS


def test_transpose_batch_shifts_each_item_and_fills_silence():
    x = torch.zeros(3, 2, 88, 4)
    x[:, :, 40, :] = 1
    out = transpose_batch(x, torch.tensor([2, -3, 0]))
    assert out[0, :, 42].sum() == 8 and out[0, :, 40].sum() == 0
    assert out[1, :, 37].sum() == 8
    assert torch.equal(out[2], x[2])
    edge = torch.zeros(1, 2, 88, 4)
    edge[0, :, 87] = 1
    assert transpose_batch(edge, torch.tensor([1])).sum() == 0  # shifted off the top: dropped, not wrapped

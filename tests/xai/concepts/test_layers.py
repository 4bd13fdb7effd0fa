"""The layer hooks the concept methods share: activations, gradients (checked by finite differences), shapes."""

import threading

import numpy as np
import torch
from torch import nn

from xai.concepts import layers

H, W = 12, 16  # a small piano roll: 12 pitches x 16 steps, channels (onset, sustain)


class SmallNet(nn.Module):
    """Random weights, two ReLU layers and a non-linear path to 3 logits, for gradient checks."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.feat = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU())
        self.mid = nn.Sequential(nn.Conv2d(4, 5, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(5, 3)

    def head_from_feat(self, h):
        return self.fc(self.mid(h).amax(dim=(2, 3)))

    def forward(self, x):
        return self.head_from_feat(self.feat(x))


def test_layer_activations_grads_match_autograd_and_finite_differences(rng):
    net = SmallNet()
    X = rng.random((5, 2, H, W)).astype(np.float32)
    acts, grads = layers.layer_activations(net, X, "feat", with_grads=True, batch_size=2)
    assert acts.shape == (5, 4 * H * W) and acts.dtype == np.float32
    assert grads.shape == (5, 3, 4 * H * W) and grads.dtype == np.float32
    h = net.feat(torch.from_numpy(X)).detach()
    np.testing.assert_allclose(acts, h.reshape(5, -1).numpy(), atol=1e-6)
    for i in range(5):
        jac = torch.autograd.functional.jacobian(net.head_from_feat, h[i : i + 1])  # (1, 3, 1, 4, H, W)
        np.testing.assert_allclose(grads[i], jac.reshape(3, -1).numpy(), atol=1e-5)
    # central differences in float64 on the coordinates with the largest gradients
    net64 = SmallNet().double()
    h64 = h.double()
    for c in range(3):
        k = int(np.argmax(np.abs(grads[0, c])))
        e = torch.zeros(h64[:1].numel(), dtype=torch.float64)
        e[k] = 1e-6
        e = e.reshape(h64[:1].shape)
        with torch.no_grad():
            fd = (net64.head_from_feat(h64[:1] + e)[0, c] - net64.head_from_feat(h64[:1] - e)[0, c]).item() / 2e-6
        assert abs(fd - grads[0, c, k]) < 1e-4 * max(1.0, abs(grads[0, c, k]))
    # without gradients: the same activations (the forward pass stops early)
    acts2, none = layers.layer_activations(net, X, "feat")
    assert none is None
    np.testing.assert_allclose(acts2, acts, atol=1e-6)
    # one logit only, and several layers at once, give the same numbers
    _, g2 = layers.layer_activations(net, X, "feat", with_grads=True, outputs=[2])
    np.testing.assert_allclose(g2[:, 0], grads[:, 2], atol=1e-6)
    both_acts, both_grads = layers.activations(net, X, ["feat", "mid"], with_grads=True)
    np.testing.assert_allclose(both_grads["feat"], grads, atol=1e-6)
    _, gmid = layers.layer_activations(net, X, "mid", with_grads=True)
    np.testing.assert_allclose(both_grads["mid"], gmid, atol=1e-6)


def test_gradients_with_frozen_weights_and_mode_is_restored(rng):
    net = SmallNet()
    _, ref = layers.layer_activations(net, rng.random((3, 2, H, W)).astype(np.float32), "mid", with_grads=True)
    for p in net.parameters():
        p.requires_grad_(False)
    net.train()
    X = rng.random((3, 2, H, W)).astype(np.float32)
    _, g = layers.layer_activations(net, X, "mid", with_grads=True)
    assert np.abs(g).sum() > 0 and net.training


def test_layer_info_reports_shapes_and_non_negativity():
    info = layers.layer_info(SmallNet(), ["feat", "mid", "fc"], input_shape=(2, H, W), default="mid")
    assert [d["name"] for d in info] == ["feat", "mid", "fc"]
    assert info[0]["shape"] == [4, H, W] and info[0]["channels"] == 4 and info[0]["size"] == 4 * H * W
    assert [d["nonnegative"] for d in info] == [True, True, False]
    assert [d["default"] for d in info] == [False, True, False]


def test_hooks_in_two_threads_see_only_their_own_passes(rng):
    """A model shared by browser sessions: a layer read in one thread must not capture another thread's input."""
    net = SmallNet()
    X1, X2 = rng.random((40, 2, H, W)).astype(np.float32), rng.random((40, 2, H, W)).astype(np.float32)
    ref = [layers.activations(net, X, ["feat", "mid"], with_grads=g, batch_size=4) for X, g in ((X1, True), (X2, False))]
    out = [None, None]

    def work(i, X, g):
        out[i] = layers.activations(net, X, ["feat", "mid"], with_grads=g, batch_size=4)

    threads = [threading.Thread(target=work, args=(0, X1, True)), threading.Thread(target=work, args=(1, X2, False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (acts, grads), (racts, rgrads) in zip(out, ref, strict=True):
        for name in ("feat", "mid"):
            np.testing.assert_array_equal(acts[name], racts[name])
            if rgrads is not None:
                np.testing.assert_array_equal(grads[name], rgrads[name])


import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator, so every test that draws numbers draws the same ones."""
    return np.random.default_rng(440)

import numpy as np
import pytest

from skdgm.datasets import make_ssl_moons

# Small, fast settings for contract tests (learning tests use the thesis's settings).
TINY = dict(hidden_sizes=(16,), n_latent=2, max_epochs=2, batch_size=64, random_state=0)


@pytest.fixture(scope="session")
def moons_small():
    X, y, y_true = make_ssl_moons(n_samples=300, noise=0.1, random_state=0)
    return X, y, y_true


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(0)


def pytest_configure(config):
    # Small networks are bound by per-op overhead: one thread is faster, and avoids
    # oversubscription when other processes share the two cores.
    import torch

    torch.set_num_threads(1)

"""GPU tests: every estimator trains and predicts with ``device="cuda"``.

Skipped where torch sees no CUDA device (CI has none); run on a GPU machine with
``pytest tests/test_cuda.py``.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from skdgm import SSLAPDClassifier, SSLPEClassifier
from skdgm.active import bald_sampling, batch_bald_sampling
from skdgm.baselines import (
    ADGMClassifier,
    DNNClassifier,
    M2Classifier,
    SDGMClassifier,
)
from skdgm.datasets import make_ssl_moons

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

ALL = [SSLPEClassifier, SSLAPDClassifier, DNNClassifier, M2Classifier, SDGMClassifier,
       ADGMClassifier]
SMALL = dict(hidden_sizes=(16,), max_epochs=2, batch_size=64, random_state=0, device="cuda")


@pytest.fixture(scope="module")
def moons():
    X, y, y_true = make_ssl_moons(n_samples=400, noise=0.1, random_state=0)
    return X.astype(np.float32), y, y_true


def _small(cls):
    params = dict(SMALL)
    if cls is not DNNClassifier:
        params["n_latent"] = 2
    return cls(**params)


@pytest.mark.parametrize("cls", ALL)
def test_fits_and_predicts_on_cuda(cls, moons):
    X, y, _ = moons
    clf = _small(cls).fit(X, y)
    params = list(clf.module_.parameters())
    assert params and all(p.device.type == "cuda" for p in params)
    proba = clf.predict_proba(X)
    assert isinstance(proba, np.ndarray) and proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert set(np.unique(clf.predict(X))) <= {0, 1}


def test_string_labels_on_cuda(moons):
    X, y, _ = moons
    y_str = np.array(["-1" if v < 0 else ("left" if v == 0 else "right") for v in y],
                     dtype=object)
    y_str[y < 0] = -1
    clf = _small(SSLPEClassifier).fit(X, y_str)
    assert list(clf.classes_) == ["left", "right"]
    assert set(clf.predict(X)) <= {"left", "right"}


@pytest.mark.parametrize("cls", [SSLPEClassifier, SSLAPDClassifier])
def test_cuda_fits_with_one_random_state_agree_closely(cls, moons):
    """Same random draws on both fits; only the summation order of GPU atomics differs (seen
    on an H200: up to 0.005 after two epochs), far below what other draws would give."""
    X, y, _ = moons
    a = _small(cls).fit(X, y).predict_proba(X)
    b = _small(cls).fit(X, y).predict_proba(X)
    other = cls(**{**SMALL, "n_latent": 2, "random_state": 1}).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(a, b, atol=0.02)
    assert np.abs(a - other).max() > 10 * np.abs(a - b).max()


DETERMINISTIC_FITS = """
import numpy as np, torch
torch.use_deterministic_algorithms(True)
from skdgm import {cls}
from skdgm.datasets import make_ssl_moons
X, y, _ = make_ssl_moons(n_samples=400, noise=0.1, random_state=0)
p = [{cls}(hidden_sizes=(16,), n_latent=2, max_epochs=2, batch_size=64, random_state=0,
           device="cuda").fit(X, y).predict_proba(X) for _ in range(2)]
print(np.abs(p[0] - p[1]).max())
"""


@pytest.mark.parametrize("cls", ["SSLPEClassifier", "SSLAPDClassifier"])
def test_cuda_fits_are_bitwise_reproducible_with_deterministic_algorithms(cls):
    """``torch.use_deterministic_algorithms(True)`` (and cuBLAS's workspace setting, which must
    be in the environment before CUDA starts, hence a fresh process) makes CUDA fits repeat
    exactly."""
    env = {**os.environ, "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
    res = subprocess.run([sys.executable, "-c", DETERMINISTIC_FITS.format(cls=cls)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert float(res.stdout.split()[-1]) == 0.0


@pytest.mark.parametrize("cls", [SSLPEClassifier, SSLAPDClassifier])
def test_cuda_and_cpu_fits_agree_in_what_they_learn(cls):
    """Same settings on both devices: both learn moons from six labels (different random
    streams, so the numbers differ; the accuracy must not)."""
    X, y, _ = make_ssl_moons(2_000, noise=0.1, labels="fixed", random_state=0)
    X_test, _, y_test = make_ssl_moons(2_000, noise=0.1, random_state=1)
    scores = {dev: cls(random_state=0, device=dev, max_epochs=30).fit(X, y).score(X_test, y_test)
              for dev in ("cpu", "cuda")}
    assert scores["cuda"] >= 0.9, scores
    assert abs(scores["cuda"] - scores["cpu"]) < 0.05, scores


def test_training_step_makes_no_host_device_sync(moons):
    """The objective, its backward pass and the optimiser step run without a host/device
    synchronisation (skorch's own ``loss.item()`` per batch is outside this step)."""
    X, y, _ = moons
    for cls in (SSLPEClassifier, SSLAPDClassifier):
        clf = _small(cls).fit(X, y)
        net = clf.net_
        X_checked, y_enc = clf._validate_X_y(X, y)
        batch = next(iter(net.get_iterator(net.get_dataset(X_checked, y_enc), training=True)))
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            net.optimizer_.zero_grad()
            step = net.train_step_single(batch)
            net.optimizer_.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
        assert torch.isfinite(step["loss"]).item()


@pytest.mark.parametrize("strategy", [bald_sampling, batch_bald_sampling])
def test_acquisition_on_a_cuda_model(strategy, moons):
    X, y, _ = moons
    clf = _small(SSLAPDClassifier).fit(X, y)
    idx, scores = strategy(clf, X[:200], n_instances=3)
    assert len(np.unique(idx)) == 3 and np.all(idx < 200)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


@pytest.mark.parametrize("n_configurations", [10000, 30])  # exact, then Monte-Carlo
def test_batch_bald_on_cuda_equals_cpu(n_configurations):
    from skdgm.acquisition import batch_bald

    probs = np.random.default_rng(0).dirichlet(np.full(5, 0.5), size=(8, 500))
    cpu = batch_bald(probs, 6, n_configurations=n_configurations, random_state=0)
    gpu = batch_bald(probs, 6, n_configurations=n_configurations, random_state=0,
                     device="cuda")
    np.testing.assert_array_equal(gpu[0], cpu[0])
    np.testing.assert_allclose(gpu[1], cpu[1], rtol=1e-10, atol=1e-12)


def test_batch_bald_sampling_runs_on_the_models_device(monkeypatch, moons):
    import skdgm.active as active

    seen = []
    real = active.batch_bald
    monkeypatch.setattr(active, "batch_bald",
                        lambda *a, **kw: seen.append(kw["device"]) or real(*a, **kw))
    X, y, _ = moons
    clf = _small(SSLAPDClassifier).fit(X, y)
    batch_bald_sampling(clf, X[:200], n_instances=3)
    assert seen == ["cuda"]


@pytest.mark.parametrize("init_selection", ["entropy", "consensus"])
def test_restarts_on_cuda_keep_a_gpu_fit(init_selection, moons):
    """``n_init`` on the GPU: every candidate is scored, and the kept fit (by the entropy rule,
    the one of lowest unlabeled entropy, recomputed here from its own predictions) stays on
    the device."""
    X, y, _ = moons
    clf = _small(SSLPEClassifier).set_params(n_init=3, init_selection=init_selection).fit(X, y)
    assert clf.init_entropies_.shape == (3,) and np.all(np.isfinite(clf.init_entropies_))
    assert all(p.device.type == "cuda" for p in clf.module_.parameters())
    from skdgm.acquisition import predictive_entropy

    kept = float(np.mean(predictive_entropy(clf._unlabeled_proba(*clf._validate_X_y(X, y))[None])))
    if init_selection == "entropy":
        np.testing.assert_allclose(kept, clf.init_entropies_.min(), rtol=1e-6)
    else:
        assert clf.init_agreement_.shape == (3, 3)
        assert np.isclose(clf.init_entropies_, kept, rtol=1e-6).any()


def test_stochastic_binarization_on_cuda(moons):
    """The draws happen on the GPU from the estimator's seeded generator: two fits agree as
    closely as any two CUDA fits, and the caller's array is untouched."""
    from skdgm import StochasticBinarization

    X, y, _ = moons
    X01 = ((X - X.min(0)) / (X.max(0) - X.min(0))).astype(np.float32)
    before = X01.copy()

    def fit():
        return _small(SSLPEClassifier).set_params(
            likelihood="bernoulli", callbacks=[StochasticBinarization()]).fit(X01, y)

    a, b = fit().predict_proba(X01), fit().predict_proba(X01)
    np.testing.assert_array_equal(X01, before)
    np.testing.assert_allclose(a, b, atol=0.02)

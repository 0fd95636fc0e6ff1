"""``StochasticBinarization``: training batches become Bernoulli draws of the grey levels."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skdgm import SSLAPDClassifier, SSLPEClassifier, StochasticBinarization


def _grey_data(n=300, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, d)).astype(np.float32)
    y = np.full(n, -1)
    y[:10] = np.arange(10) % 2
    return X, y


@settings(max_examples=25, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 30), st.integers(1, 8)),
              elements=st.floats(0, 1, width=32)))
def test_training_batches_become_binary_of_the_same_shape(p):
    X = torch.from_numpy(p.copy())
    StochasticBinarization().on_batch_begin(None, batch=(X, None), training=True)
    assert X.shape == p.shape
    assert set(np.unique(X.numpy())) <= {0.0, 1.0}
    # probability 0 and 1 are kept exactly
    assert np.all(X.numpy()[p == 0] == 0) and np.all(X.numpy()[p == 1] == 1)


def test_draws_have_the_grey_levels_as_means():
    levels = torch.tensor([0.1, 0.5, 0.9])
    X = levels.repeat(40_000, 1)
    StochasticBinarization().on_batch_begin(None, batch=(X, None), training=True)
    # standard error of a mean of 40,000 draws is at most 0.0025
    np.testing.assert_allclose(X.mean(0).numpy(), levels.numpy(), atol=0.0125)


def test_validation_batches_are_left_alone():
    X = torch.full((5, 3), 0.5)
    StochasticBinarization().on_batch_begin(None, batch=(X, None), training=False)
    assert torch.all(X == 0.5)


def test_inputs_outside_the_unit_interval_are_rejected():
    X, y = _grey_data()
    X[0, 0] = 1.5
    clf = SSLPEClassifier(likelihood="bernoulli", max_epochs=1, hidden_sizes=(8,), n_latent=2,
                          callbacks=[StochasticBinarization()], random_state=0)
    with pytest.raises(ValueError, match=r"inputs in \[0, 1\]"):
        clf.fit(X, y)


@pytest.mark.parametrize("cls", [SSLPEClassifier, SSLAPDClassifier])
def test_fit_binarizes_reproducibly_without_touching_the_callers_array(cls):
    X, y = _grey_data()
    X_before = X.copy()

    def fit(callbacks):
        return cls(likelihood="bernoulli", max_epochs=2, hidden_sizes=(8,), n_latent=2,
                   batch_norm=False, callbacks=callbacks, random_state=0).fit(X, y)

    a = fit([StochasticBinarization()]).predict_proba(X)
    b = fit([StochasticBinarization()]).predict_proba(X)
    plain = fit(None).predict_proba(X)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(a, b)          # same random_state, same draws
    assert np.abs(a - plain).max() > 1e-4        # the draws changed what was learned


def test_the_step_sees_binary_inputs(monkeypatch):
    """What reaches the objective in a training step is binary."""
    from skdgm._training import DGMNet

    seen = []
    real = DGMNet._objective
    monkeypatch.setattr(DGMNet, "_objective",
                        lambda self, batch: seen.append(batch[0].clone()) or real(self, batch))
    X, y = _grey_data()
    SSLPEClassifier(likelihood="bernoulli", max_epochs=1, hidden_sizes=(8,), n_latent=2,
                    callbacks=[StochasticBinarization()], random_state=0).fit(X, y)
    assert seen and all(set(torch.unique(b).tolist()) <= {0.0, 1.0} for b in seen)


@pytest.mark.parametrize("name", ["DNNClassifier", "M2Classifier", "SDGMClassifier",
                                  "ADGMClassifier"])
def test_every_estimators_training_batches_are_copies(name):
    """The callback overwrites batches in place; for every estimator those batches are
    gathered copies, so the caller's array stays as it was."""
    import skdgm

    X, y = _grey_data()
    X_before = X.copy()
    params = dict(max_epochs=1, hidden_sizes=(8,), random_state=0,
                  callbacks=[StochasticBinarization()])
    if name != "DNNClassifier":
        params.update(n_latent=2, likelihood="bernoulli")
    proba = getattr(skdgm, name)(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(X, X_before)
    assert np.all(np.isfinite(proba))

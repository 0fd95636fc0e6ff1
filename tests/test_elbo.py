"""ELBO terms against independent computations (torch.distributions, Monte Carlo)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import distributions as D

from skdgm.nn.elbo import (
    bernoulli_log_likelihood,
    categorical_entropy,
    gaussian_log_likelihood,
    kl_standard_normal,
    labeled_bound,
    unlabeled_bound,
)
from skdgm.nn.layers import BayesianLinear


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gaussian_log_likelihood_matches_torch_distributions():
    g = _gen()
    x, mean, log_var = (torch.randn(7, 4, generator=g, dtype=torch.float64) for _ in range(3))
    ref = D.Independent(D.Normal(mean, torch.exp(0.5 * log_var)), 1).log_prob(x)
    torch.testing.assert_close(gaussian_log_likelihood(x, mean, log_var), ref)


def test_bernoulli_log_likelihood_matches_torch_distributions():
    g = _gen(1)
    logits = 3 * torch.randn(6, 5, generator=g, dtype=torch.float64)
    x = torch.bernoulli(torch.full((6, 5), 0.5, dtype=torch.float64), generator=g)
    ref = D.Independent(D.Bernoulli(logits=logits), 1).log_prob(x)
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), ref)


def test_kl_standard_normal_matches_torch_and_monte_carlo():
    g = _gen(2)
    mean = torch.randn(3, 4, generator=g, dtype=torch.float64)
    log_var = 0.5 * torch.randn(3, 4, generator=g, dtype=torch.float64)
    q = D.Independent(D.Normal(mean, torch.exp(0.5 * log_var)), 1)
    p = D.Independent(D.Normal(torch.zeros_like(mean), torch.ones_like(mean)), 1)
    analytic = kl_standard_normal(mean, log_var)
    torch.testing.assert_close(analytic, D.kl_divergence(q, p))
    z = q.rsample((200_000,))
    mc = (q.log_prob(z) - p.log_prob(z)).mean(0)
    torch.testing.assert_close(analytic, mc, atol=0.03, rtol=0.02)


def test_categorical_entropy_matches_torch_and_is_exact_at_zero():
    logits = torch.tensor([[0.0, 1.0, -2.0], [0.0, -1e4, -1e4]], dtype=torch.float64)
    torch.testing.assert_close(categorical_entropy(logits),
                               D.Categorical(logits=logits).entropy())
    # a (numerically) one-hot distribution has zero entropy and a finite gradient
    row = logits[1:].clone().requires_grad_(True)
    h = categorical_entropy(row)
    assert h.item() == pytest.approx(0.0, abs=1e-12)
    h.sum().backward()
    assert torch.isfinite(row.grad).all()


def test_labeled_bound_is_sum_of_terms():
    a, b, c = torch.tensor([1.0]), torch.tensor([-2.0]), torch.tensor([0.5])
    assert labeled_bound(a, b, c, kl_weight=0.2).item() == pytest.approx(1 - 2 - 0.1)


def test_unlabeled_bound_equals_explicit_class_loop():
    g = _gen(3)
    qy_logits = torch.randn(5, 4, generator=g, dtype=torch.float64)
    per_class = torch.randn(5, 4, generator=g, dtype=torch.float64)
    expected = torch.zeros(5, dtype=torch.float64)
    for i in range(5):
        q = torch.softmax(qy_logits[i], 0)
        for k in range(4):
            expected[i] += q[k] * per_class[i, k] - q[k] * torch.log(q[k])
    torch.testing.assert_close(unlabeled_bound(qy_logits, per_class), expected)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.floats(-12, 1), st.floats(0.1, 3.0))
def test_bayesian_linear_kl_matches_torch_distributions(n_in, n_out, log_var, prior_std):
    layer = BayesianLinear(n_in, n_out, init_log_var=log_var, prior_std=prior_std).double()
    q = D.Normal(torch.cat([layer.weight_mu.flatten(), layer.bias_mu]),
                 torch.exp(0.5 * torch.cat([layer.weight_log_var.flatten(),
                                            layer.bias_log_var])))
    p = D.Normal(torch.zeros(n_in * n_out + n_out, dtype=torch.float64),
                 torch.full((n_in * n_out + n_out,), prior_std, dtype=torch.float64))
    expected = D.kl_divergence(q, p).sum()
    torch.testing.assert_close(layer.kl(), expected.to(layer.kl().dtype))


def test_bayesian_linear_kl_monte_carlo():
    torch.manual_seed(0)
    layer = BayesianLinear(3, 2, init_log_var=-1.0, prior_std=1.5).double()
    w, b = layer.sample_weights(100_000)
    q_w = D.Normal(layer.weight_mu, torch.exp(0.5 * layer.weight_log_var))
    q_b = D.Normal(layer.bias_mu, torch.exp(0.5 * layer.bias_log_var))
    p = D.Normal(0.0, 1.5)
    log_ratio = ((q_w.log_prob(w) - p.log_prob(w)).sum((1, 2))
                 + (q_b.log_prob(b) - p.log_prob(b)).sum(1))
    assert log_ratio.mean().item() == pytest.approx(layer.kl().item(), rel=0.02, abs=0.05)


def test_bayesian_linear_samples_have_posterior_moments():
    torch.manual_seed(1)
    layer = BayesianLinear(2, 3, init_log_var=-2.0)
    w, _ = layer.sample_weights(50_000)
    np.testing.assert_allclose(w.mean(0).detach(), layer.weight_mu.detach(), atol=0.01)
    np.testing.assert_allclose(w.var(0).detach(), np.exp(-2.0) * np.ones((3, 2)), rtol=0.05)

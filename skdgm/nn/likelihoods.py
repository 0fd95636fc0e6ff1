"""Observation models p(x | .) for the decoders: Gaussian and Bernoulli."""

from __future__ import annotations

import torch
from torch import nn

from skdgm.nn.elbo import bernoulli_log_likelihood, gaussian_log_likelihood


class GaussianLikelihood(nn.Module):
    """p(x|h) = N(x; mu, diag(exp(log_var))), with mean and log-variance heads (eq. 4.3)."""

    def n_params(self, n_features: int) -> int:
        return 2 * n_features

    def log_prob(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        mean, log_var = params.chunk(2, dim=-1)
        return gaussian_log_likelihood(x, mean, log_var)

    def sample(self, params: torch.Tensor, generator: torch.Generator | None = None,
               mean: bool = False) -> torch.Tensor:
        mu, log_var = params.chunk(2, dim=-1)
        if mean:
            return mu
        eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
        return mu + torch.exp(0.5 * log_var) * eps


class BernoulliLikelihood(nn.Module):
    """p(x|h) = Bernoulli(x; sigmoid(logits)); x in [0, 1] (binary or grey-level)."""

    def n_params(self, n_features: int) -> int:
        return n_features

    def log_prob(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return bernoulli_log_likelihood(x, params)

    def sample(self, params: torch.Tensor, generator: torch.Generator | None = None,
               mean: bool = False) -> torch.Tensor:
        p = torch.sigmoid(params)
        return p if mean else torch.bernoulli(p, generator=generator)


LIKELIHOODS = {"gaussian": GaussianLikelihood, "bernoulli": BernoulliLikelihood}


def make_likelihood(name: str) -> nn.Module:
    """Return the likelihood module called ``name`` (``gaussian`` or ``bernoulli``)."""
    try:
        return LIKELIHOODS[name]()
    except KeyError:
        raise ValueError(f"likelihood must be one of {sorted(LIKELIHOODS)}, got {name!r}") from None

"""ELBO terms as plain functions of tensors (thesis chapter 4).

All functions return one value per row (the last axis is the event axis) unless stated.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor
                            ) -> torch.Tensor:
    """log N(x; mean, diag(exp(log_var))) summed over the last axis (eq. 4.3)."""
    return -0.5 * torch.sum(LOG_2PI + log_var + (x - mean).pow(2) * torch.exp(-log_var), dim=-1)


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log Bernoulli(x; sigmoid(logits)) summed over the last axis; x may lie in [0, 1]."""
    return -torch.sum(F.binary_cross_entropy_with_logits(logits, x.expand_as(logits),
                                                         reduction="none"), dim=-1)


def kl_standard_normal(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """Analytic KL(N(mean, diag(exp(log_var))) || N(0, I)) summed over the last axis (eq. 4.5)."""
    return 0.5 * torch.sum(torch.exp(log_var) + mean.pow(2) - 1.0 - log_var, dim=-1)


def categorical_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy H[Cat(softmax(logits))] over the last axis, exact at zero probabilities."""
    log_p = torch.log_softmax(logits, dim=-1)  # finite for finite logits, so 0 * log_p = 0
    return -torch.sum(log_p.exp() * log_p, dim=-1)


def labeled_bound(log_px: torch.Tensor, log_py: torch.Tensor, kl_z: torch.Tensor,
                  kl_weight: float | torch.Tensor = 1.0) -> torch.Tensor:
    """Per-row labeled ELBO L(x, y) = log p(x|z) + log p(y|x,z) - beta KL(q(z|x,y)||p(z)).

    Eq. 4.5 with the warm-up weight beta of eq. 5.1 (beta=1 is the bound itself).
    """
    return log_px + log_py - kl_weight * kl_z


def unlabeled_bound(qy_logits: torch.Tensor, bound_per_class: torch.Tensor) -> torch.Tensor:
    """Unlabeled ELBO U(x) = sum_y q(y|x) L(x, y) + H[q(y|x)] with y enumerated exactly.

    Eqs. 4.9 and 4.11-4.13: ``qy_logits`` has shape ``(n, K)``, ``bound_per_class`` holds
    L(x, y=k) in shape ``(n, K)``.
    """
    q = torch.softmax(qy_logits, dim=-1)
    return torch.sum(q * bound_per_class, dim=-1) + categorical_entropy(qy_logits)

"""The generative model of thesis chapter 4 (SSLPE and SSLAPD).

Generative model::

    p(z) = N(0, I);  p(x|z) = Gaussian or Bernoulli (decoder_x);
    p(y|x, z, W) = Cat(softmax(classifier([x, z]; W)))

Recognition model::

    q(z|x, y) = N(mu, diag(sigma^2)) (encoder_z on [x, onehot(y)]);  q(y|x) = Cat (encoder_y)

With ``bayesian=True`` (SSLAPD) the classifier weights W have a factorised Gaussian posterior
q(W) and a N(0, I) prior (eqs. 4.16-4.22); otherwise they are point estimates (SSLPE).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from skdgm.nn.base import SemiSupervisedModule, combine_bounds, enumerate_classes
from skdgm.nn.elbo import kl_standard_normal, labeled_bound
from skdgm.nn.layers import MLP, BayesianMLP
from skdgm.nn.likelihoods import make_likelihood

LOG_VAR_LIMIT = 30.0


def _randn_like(t: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(t.shape, device=t.device, dtype=t.dtype, generator=generator)


class SSLDGM(SemiSupervisedModule):
    """Deep generative model with a discriminative component p(y|x, z) (thesis Fig. 4.1).

    Parameters
    ----------
    n_features, n_classes : int
        Input width D and number of classes K.
    n_latent : int
        Width of z.
    hidden : sequence of int
        Hidden widths shared by the four networks.
    likelihood : {"gaussian", "bernoulli"}
        Observation model p(x|z).
    batch_norm : bool
        Batch norm in all four networks (thesis 5.1.4).
    activation : str
        Hidden activation.
    bayesian : bool
        Bayes-by-backprop posterior over the classifier weights (SSLAPD).
    init_log_var, prior_std, bn_statistics
        Bayesian classifier settings, see :class:`skdgm.nn.layers.BayesianMLP`.
    """

    def __init__(self, n_features: int, n_classes: int, n_latent: int = 5,
                 hidden: Sequence[int] = (128, 128), likelihood: str = "gaussian",
                 batch_norm: bool = True, activation: str = "relu", bayesian: bool = False,
                 init_log_var: float = -10.0, prior_std: float = 1.0,
                 bn_statistics: str = "weight_means") -> None:
        super().__init__()
        self.n_features, self.n_classes, self.n_latent = n_features, n_classes, n_latent
        self.bayesian = bayesian
        self.likelihood = make_likelihood(likelihood)
        hidden = tuple(hidden)
        self.encoder_y = MLP(n_features, n_classes, hidden, batch_norm, activation)
        self.encoder_z = MLP(n_features + n_classes, 2 * n_latent, hidden, batch_norm, activation)
        self.decoder_x = MLP(n_latent, self.likelihood.n_params(n_features), hidden, batch_norm,
                             activation)
        if bayesian:
            self.classifier = BayesianMLP(n_features + n_latent, n_classes, hidden, batch_norm,
                                          activation, init_log_var, prior_std, bn_statistics)
        else:
            self.classifier = MLP(n_features + n_latent, n_classes, hidden, batch_norm,
                                  activation)

    # -- pieces ------------------------------------------------------------------------------
    def encode_z(self, x: torch.Tensor, y_onehot: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x, y) (eq. 4.6).

        The log-variance is clamped to [-30, 30] so that inputs far outside the training data
        give huge but finite samples instead of overflowing to inf/NaN.
        """
        mean, log_var = self.encoder_z(torch.cat([x, y_onehot], dim=-1)).chunk(2, dim=-1)
        return mean, log_var.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)

    def classifier_logits(self, x: torch.Tensor, z: torch.Tensor, weights=None) -> torch.Tensor:
        """Logits of p(y|x, z, W) for inputs of shape ``(n_draws, n_rows, .)`` (eq. 4.4/4.17)."""
        inp = torch.cat([x, z], dim=-1)
        if self.bayesian:
            return self.classifier(inp, weights)
        return self.classifier(inp)

    def sample_classifier_weights(self, n_draws: int, generator: torch.Generator | None = None):
        """Weight draws from q(W) for SSLAPD; ``None`` for SSLPE."""
        return self.classifier.sample_weights(n_draws, generator) if self.bayesian else None

    def global_kl(self) -> torch.Tensor | float:
        return self.classifier.kl() if self.bayesian else 0.0

    # -- objective ---------------------------------------------------------------------------
    def bounds(self, x_l: torch.Tensor, y_l: torch.Tensor, x_u: torch.Tensor,
               kl_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """Labeled bound (4.5/4.20), unlabeled bound with every class enumerated (4.9, 4.11-4.13)
        and log q(y|x) on labeled rows (4.10), from one batched pass through each network.

        Labeled rows and the K copies of every unlabeled row (one per class, class-major) go
        through q(z|x,y), p(x|z) and p(y|x,z) together, so batch norm sees one batch.
        """
        k = self.n_classes
        x_rows, y_rows = enumerate_classes(x_l, y_l, x_u, k)              # (R, D), (R, K)
        mean, log_var = self.encode_z(x_rows, y_rows)                     # (R, Z)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        log_px = self.likelihood.log_prob(x_rows, self.decoder_x(z))      # (R,)
        weights = self.sample_classifier_weights(1)                      # one draw per step
        logits = self.classifier_logits(x_rows[None], z[None], weights)[0]  # (R, K)
        log_py = torch.sum(torch.log_softmax(logits, dim=-1) * y_rows, dim=-1)
        bound = labeled_bound(log_px, log_py, kl_standard_normal(mean, log_var), kl_weight)
        qy_logits = self.encoder_y(torch.cat([x_l, x_u]))                  # (n_l + n_u, K)
        return combine_bounds(bound, qy_logits, y_l, k)

    # -- prediction --------------------------------------------------------------------------
    def gibbs(self, x: torch.Tensor, n_steps: int, n_chains: int = 1,
              resample_weights: bool = True, generator: torch.Generator | None = None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Gibbs chains of thesis 4.4, all rows and chains batched.

        y0 ~ q(y|x); then for each step: (W ~ q(W)), z ~ q(z|x, y), y ~ p(y|x, z, W).  Returns
        the chain averages of p(y|x, z, W) (Rao-Blackwellised, shape ``(n_chains, n, K)``) and
        of z (eq. 4.24, shape ``(n_chains, n, Z)``).  With ``resample_weights=False`` each chain
        keeps one weight draw, so chains are draws from the posterior over W (used by BALD).
        """
        n, k = x.shape[0], self.n_classes
        xs = x.expand(n_chains, n, x.shape[-1])
        q0 = torch.softmax(self.encoder_y(x), dim=-1)                       # (n, K)
        y = torch.multinomial(q0, n_chains, replacement=True, generator=generator).T  # (S, n)
        weights = None if resample_weights else self.sample_classifier_weights(n_chains, generator)
        prob_sum = x.new_zeros(n_chains, n, k)
        z_sum = x.new_zeros(n_chains, n, self.n_latent)
        for _ in range(n_steps):
            mean, log_var = self.encode_z(xs, F.one_hot(y, k).to(x.dtype))
            z = mean + torch.exp(0.5 * log_var) * _randn_like(mean, generator)
            w = self.sample_classifier_weights(n_chains, generator) if resample_weights else weights
            p = torch.softmax(self.classifier_logits(xs, z, w), dim=-1)      # (S, n, K)
            prob_sum += p
            z_sum += z
            y = torch.multinomial(p.reshape(-1, k), 1, generator=generator).reshape(n_chains, n)
        return prob_sum / n_steps, z_sum / n_steps

    def predict_proba_samples(self, x: torch.Tensor, n_draws: int, n_steps: int,
                              generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-draw class probabilities: for SSLAPD one W draw per chain, z varied by its Gibbs
        chain; for SSLPE draws differ only through z."""
        return self.gibbs(x, n_steps, n_draws, resample_weights=False, generator=generator)[0]

    def predict_proba(self, x: torch.Tensor, n_steps: int,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """Gibbs predictive p(y|x) with W resampled at every step (thesis 4.4)."""
        return self.gibbs(x, n_steps, 1, resample_weights=True, generator=generator)[0][0]

    def transform(self, x: torch.Tensor, n_steps: int,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """Gibbs-averaged latent code z-hat (eq. 4.24)."""
        return self.gibbs(x, n_steps, 1, resample_weights=True, generator=generator)[1][0]

    def sample(self, n: int, generator: torch.Generator | None = None, mean: bool = False
               ) -> torch.Tensor:
        """Draw x ~ p(x|z) p(z); ``mean=True`` returns the decoder means instead."""
        ref = next(self.parameters())
        z = torch.randn((n, self.n_latent), device=ref.device, dtype=ref.dtype,
                        generator=generator)
        return self.likelihood.sample(self.decoder_x(z), generator, mean)

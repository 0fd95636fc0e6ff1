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

from skdgm.nn.base import SemiSupervisedModule, combine_bounds, enumerate_classes
from skdgm.nn.elbo import kl_standard_normal, labeled_bound
from skdgm.nn.layers import MLP, BayesianMLP, linear_x_part, split_linear
from skdgm.nn.likelihoods import make_likelihood

LOG_VAR_LIMIT = 30.0


def _x_parts(first: list, x: torch.Tensor, n_x: int) -> list[torch.Tensor]:
    """x-part of a first layer's pre-activation for each weight stream of ``first``."""
    return [linear_x_part(x, w, n_x) for w in first]


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

    # The first layers of q(z|x, y) and p(y|x, z) see [x, y] and [x, z]: their x-part
    # x @ W_x^T + b is computed once per distinct row (and weight draw) and reused for every
    # class in the bound and every Gibbs step; the y-part is a row lookup in W_y^T.
    def classifier_first_layer(self, weights=None) -> list:
        """First-layer weight streams of p(y|x, z, W) (see ``first_layer`` of the networks)."""
        if self.bayesian:
            return self.classifier.first_layer(weights)
        return self.classifier.first_layer()

    def encode_z_split(self, first: list, x_parts: list, y: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`encode_z` from ``first = encoder_z.first_layer()``, the x-parts
        ``_x_parts(first, x, D)`` (broadcasting against ``y``) and class indices ``y``."""
        a = split_linear(x_parts[0], first[0], self.n_features, index=y)
        mean, log_var = self.encoder_z.forward_from_first([a]).chunk(2, dim=-1)
        return mean, log_var.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)

    def classifier_logits_split(self, first: list, x_parts: list, z: torch.Tensor,
                                weights=None) -> torch.Tensor:
        """:meth:`classifier_logits` from ``first = classifier_first_layer(weights)`` and the
        x-parts ``_x_parts(first, x, D)`` (broadcasting against the z-part)."""
        pre = [split_linear(xp, w, self.n_features, z=z) for w, xp in zip(first, x_parts)]
        if self.bayesian:
            return self.classifier.forward_from_first(pre, weights)
        return self.classifier.forward_from_first(pre)

    def sample_classifier_weights(self, n_draws: int | None,
                                  generator: torch.Generator | None = None):
        """Weight draws from q(W) for SSLAPD (``n_draws=None``: one draw shared by all rows, no
        draw dimension); ``None`` for SSLPE."""
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
        k, d = self.n_classes, self.n_features
        n_l, n_u = x_l.shape[0], x_u.shape[0]
        x_rows, _ = enumerate_classes(x_l, y_l, x_u, k)                   # (R, D)
        x_all = torch.cat([x_l, x_u])                                      # (n_l + n_u, D)
        # row r of the enumeration is row `rows[r]` of x_all with class `classes[r]`
        ar = torch.arange(n_u, device=x_u.device)
        rows = torch.cat([torch.arange(n_l, device=x_u.device), n_l + ar.repeat(k)])
        classes = torch.cat([y_l, torch.arange(k, device=x_u.device).repeat_interleave(n_u)])
        first = self.encoder_z.first_layer()
        xp = [p.index_select(-2, rows) for p in _x_parts(first, x_all, d)]
        mean, log_var = self.encode_z_split(first, xp, classes)              # (R, Z)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        log_px = self.likelihood.log_prob(x_rows, self.decoder_x(z))      # (R,)
        weights = self.sample_classifier_weights(None)                   # one draw per step
        first = self.classifier_first_layer(weights)
        xp = [p.index_select(-2, rows) for p in _x_parts(first, x_all, d)]
        logits = self.classifier_logits_split(first, xp, z, weights).reshape(-1, k)  # (R, K)
        log_py = torch.log_softmax(logits, dim=-1).gather(1, classes[:, None])[:, 0]
        bound = labeled_bound(log_px, log_py, kl_standard_normal(mean, log_var), kl_weight)
        qy_logits = self.encoder_y(x_all)                                  # (n_l + n_u, K)
        return combine_bounds(bound, qy_logits, y_l, k)

    # -- prediction --------------------------------------------------------------------------
    def gibbs(self, x: torch.Tensor, n_steps: int, n_chains: int = 1,
              resample_weights: bool = True, generator: torch.Generator | None = None,
              weights=None, step_weights: list | None = None, argmax_y: bool = False
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Gibbs chains of thesis 4.4, all rows and chains batched.

        y0 ~ q(y|x); then for each step: (W ~ q(W)), z ~ q(z|x, y), y ~ p(y|x, z, W).  With
        ``argmax_y`` y0 and every y are the most probable class instead of a draw (the thesis's
        code; its text samples them).  Returns
        the chain averages of p(y|x, z, W) (Rao-Blackwellised, shape ``(n_chains, n, K)``) and
        of z (eq. 4.24, shape ``(n_chains, n, Z)``).  With ``resample_weights=False`` each chain
        keeps one weight draw, so chains are draws from the posterior over W (used by BALD):
        ``weights`` (from :meth:`sample_classifier_weights`), or fresh draws if ``None``.
        With ``resample_weights=True`` and one chain, ``step_weights`` (from
        :meth:`sample_global_steps`, one single-chain draw per step) gives the draw of every
        step, so that rows predicted in different chunks see the same sequence of weights and
        each draw is sampled once per prediction, not once per chunk.
        """
        n, k, d = x.shape[0], self.n_classes, self.n_features
        q0 = self.recognition_proba(x)                                      # (n, K)
        if argmax_y:
            y = q0.argmax(-1).expand(n_chains, n)                           # (S, n)
        else:
            y = torch.multinomial(q0, n_chains, replacement=True, generator=generator).T
        if resample_weights:
            weights = None
        elif weights is None:
            weights = self.sample_classifier_weights(n_chains, generator)
        # x-parts of the first layers, computed once (the classifier's only while its weights
        # stay fixed)
        first_z = self.encoder_z.first_layer()
        xp_z = _x_parts(first_z, x, d)                                     # [(n, H)]
        fixed_w = not (resample_weights and self.bayesian)
        if fixed_w:
            first_c = self.classifier_first_layer(weights)
            xp_c = _x_parts(first_c, x, d)                                 # [(n or S, n, H)]
        prob_sum = x.new_zeros(n_chains, n, k)
        z_sum = x.new_zeros(n_chains, n, self.n_latent)
        for step in range(n_steps):
            mean, log_var = self.encode_z_split(first_z, xp_z, y)            # (S, n, Z)
            z = mean + torch.exp(0.5 * log_var) * _randn_like(mean, generator)
            if not resample_weights:
                w = weights
            elif step_weights is not None:
                w = step_weights[step]
            else:
                w = self.sample_classifier_weights(n_chains, generator)
            if not fixed_w:
                first_c = self.classifier_first_layer(w)
                xp_c = _x_parts(first_c, x, d)
            p = torch.softmax(self.classifier_logits_split(first_c, xp_c, z, w), dim=-1)
            prob_sum += p                                                  # (S, n, K)
            z_sum += z
            if argmax_y:
                y = p.argmax(-1)
            else:
                y = torch.multinomial(p.reshape(-1, k), 1, generator=generator).reshape(n_chains, n)
        return prob_sum / n_steps, z_sum / n_steps

    def recognition_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities of the recognition net q(y|x) (eq. 4.10's classifier; the
        start y0 ~ q(y|x) of the Gibbs procedure, thesis 4.4), shape ``(n, K)``."""
        return torch.softmax(self.encoder_y(x), dim=-1)

    def sample_global(self, n_draws: int, generator: torch.Generator | None = None):
        """Weight draws W ~ q(W) (SSLAPD); ``None`` for SSLPE."""
        return self.sample_classifier_weights(n_draws, generator)

    def predict_proba_samples(self, x: torch.Tensor, n_draws: int, n_steps: int,
                              generator: torch.Generator | None = None, global_draws=None,
                              argmax_y: bool = False) -> torch.Tensor:
        """Per-draw class probabilities: for SSLAPD one W draw per chain (``global_draws`` if
        given), z varied by its Gibbs chain; for SSLPE draws differ only through z.
        ``argmax_y`` as in :meth:`gibbs`."""
        return self.gibbs(x, n_steps, n_draws, resample_weights=False, generator=generator,
                          weights=global_draws, argmax_y=argmax_y)[0]

    #: at most this many bytes of weight draws are kept for :meth:`sample_global_steps`
    #: (about 28 MB for 10 steps at MNIST size); beyond it each chunk draws its own
    STEP_DRAWS_MAX_BYTES = 256 * 2**20

    def sample_global_steps(self, n_steps: int, generator: torch.Generator | None = None):
        """One weight draw W ~ q(W) per Gibbs step (SSLAPD), shared by every row of a
        prediction; ``None`` for SSLPE, or when the draws would exceed
        ``STEP_DRAWS_MAX_BYTES``."""
        if not self.bayesian:
            return None
        per_step = sum(p.numel() * p.element_size() for name, p in
                       self.classifier.named_parameters() if "log_var" not in name)
        if n_steps * per_step > self.STEP_DRAWS_MAX_BYTES:
            return None
        return [self.sample_classifier_weights(1, generator) for _ in range(n_steps)]

    def predict_proba(self, x: torch.Tensor, n_steps: int,
                      generator: torch.Generator | None = None, step_draws=None,
                      argmax_y: bool = False) -> torch.Tensor:
        """Gibbs predictive p(y|x) with W resampled at every step (thesis 4.4); ``step_draws``
        (from :meth:`sample_global_steps`) fixes the draw of each step; ``argmax_y`` as in
        :meth:`gibbs`."""
        return self.gibbs(x, n_steps, 1, resample_weights=True, generator=generator,
                          step_weights=step_draws, argmax_y=argmax_y)[0][0]

    def transform(self, x: torch.Tensor, n_steps: int,
                  generator: torch.Generator | None = None, step_draws=None,
                  argmax_y: bool = False) -> torch.Tensor:
        """Gibbs-averaged latent code z-hat (eq. 4.24); ``step_draws`` and ``argmax_y`` as in
        :meth:`predict_proba`."""
        return self.gibbs(x, n_steps, 1, resample_weights=True, generator=generator,
                          step_weights=step_draws, argmax_y=argmax_y)[1][0]

    def sample(self, n: int, generator: torch.Generator | None = None, mean: bool = False
               ) -> torch.Tensor:
        """Draw x ~ p(x|z) p(z); ``mean=True`` returns the decoder means instead."""
        ref = next(self.parameters())
        z = torch.randn((n, self.n_latent), device=ref.device, dtype=ref.dtype,
                        generator=generator)
        return self.likelihood.sample(self.decoder_x(z), generator, mean)

"""The baselines of thesis section 5.2: a plain DNN, M2 (Kingma et al. 2014) and the auxiliary
models ADGM and SDGM (Maaloe et al. 2016), in the :class:`SemiSupervisedModule` API.

All of them classify with a recognition network (q(y|x) or q(y|a, x)), not with a model
classifier p(y|x, z) as SSLPE/SSLAPD do.  Unlabeled rows are handled by enumerating every class
in one batched pass: labeled rows and the K copies of each unlabeled row (class-major) go
through the networks together, so batch norm sees one batch.

Shapes: ``n_l`` labeled rows, ``n_u`` unlabeled rows, ``K`` classes, ``R = n_l + K n_u``
enumerated rows, ``D`` features, ``Z`` latent and ``A`` auxiliary widths.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch.nn import functional as F

from skdgm.nn.base import SemiSupervisedModule, combine_bounds, enumerate_classes
from skdgm.nn.elbo import (
    gaussian_log_likelihood,
    kl_standard_normal,
    labeled_bound,
)
from skdgm.nn.layers import MLP
from skdgm.nn.likelihoods import make_likelihood
from skdgm.nn.ssl_dgm import LOG_VAR_LIMIT


def _gaussian_sample(mean: torch.Tensor, log_var: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Reparameterised draw from N(mean, diag(exp(log_var)))."""
    if generator is None:
        eps = torch.randn_like(mean)
    else:
        eps = torch.randn(mean.shape, device=mean.device, dtype=mean.dtype, generator=generator)
    return mean + torch.exp(0.5 * log_var) * eps


def _gaussian_params(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a network output into mean and log-variance, the latter clamped to +-30 so that
    inputs far from the data give huge but finite samples (as in :mod:`skdgm.nn.ssl_dgm`)."""
    mean, log_var = out.chunk(2, dim=-1)
    return mean, log_var.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)


class DNN(SemiSupervisedModule):
    """Supervised MLP classifier p(y|x) = Cat(softmax(NN(x))), the thesis's DNN baseline.

    ``bounds`` returns the labeled log-likelihood log p(y|x) and a zero "unlabeled bound" that
    does not touch x_u, so unlabeled rows change neither the gradient nor the batch-norm
    statistics.  Prediction is deterministic: every posterior draw is the same softmax, so the
    BALD score of this model is 0.

    Parameters
    ----------
    n_features, n_classes : int
        Input width D and number of classes K.
    hidden : sequence of int
        Hidden widths.
    batch_norm : bool
        Batch norm on the hidden layers.
    activation : str
        Hidden activation.
    """

    def __init__(self, n_features: int, n_classes: int, hidden: Sequence[int] = (128, 128),
                 batch_norm: bool = False, activation: str = "relu") -> None:
        super().__init__()
        self.n_features, self.n_classes = n_features, n_classes
        self.classifier = MLP(n_features, n_classes, tuple(hidden), batch_norm, activation)

    def bounds(self, x_l: torch.Tensor, y_l: torch.Tensor, x_u: torch.Tensor,
               kl_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """``labeled`` = ``log_qy`` = log p(y|x) (n_l,); ``unlabeled`` = zeros (n_u,)."""
        if x_l.shape[0]:
            log_py = torch.log_softmax(self.classifier(x_l), dim=-1).gather(1, y_l[:, None])[:, 0]
        else:  # no labeled rows (e.g. a validation chunk): nothing to evaluate
            log_py = x_l.new_zeros(0)
        return {"labeled": log_py, "unlabeled": x_u.new_zeros(x_u.shape[0]), "log_qy": log_py}

    def predict_proba_samples(self, x: torch.Tensor, n_draws: int, n_steps: int,
                              generator: torch.Generator | None = None, global_draws=None
                              ) -> torch.Tensor:
        """softmax(NN(x)) repeated ``n_draws`` times (draws identical), ``(n_draws, n, K)``."""
        p = torch.softmax(self.classifier(x), dim=-1)
        return p.expand(n_draws, *p.shape)

    def transform(self, x: torch.Tensor, n_steps: int, generator=None,
                  step_draws=None) -> torch.Tensor:
        raise NotImplementedError("DNN has no latent variables to transform into.")

    def sample(self, n: int, generator=None, mean: bool = False) -> torch.Tensor:
        raise NotImplementedError("DNN is a discriminative model; it cannot sample inputs.")


class M2(SemiSupervisedModule):
    """The M2 model of Kingma et al. (2014), thesis eqs. 3.1-3.5.

    Generative model::

        p(z) = N(0, I);  p(y) = Cat(1/K);  p(x|y, z) = Gaussian or Bernoulli (decoder_x([z, y]))

    Recognition model::

        q(z|x, y) = N(mu, diag(sigma^2)) (encoder_z([x, y]));  q(y|x) = Cat (encoder_y(x))

    Labeled bound (3.3): log p(x|y, z) + log p(y) - beta KL(q(z|x, y) || p(z)), one z sample,
    analytic KL.  Unlabeled bound (3.4): sum_y q(y|x) L(x, y) + H[q(y|x)], every class
    enumerated.  The alpha-weighted log q(y|x) term (3.5) is added by
    :meth:`SemiSupervisedModule.objective`.  Classification uses q(y|x).

    Parameters
    ----------
    n_features, n_classes : int
        Input width D and number of classes K.
    n_latent : int
        Width of z.
    hidden : sequence of int
        Hidden widths of the three networks.
    likelihood : {"gaussian", "bernoulli"}
        Observation model p(x|y, z).
    batch_norm : bool
        Batch norm in all networks.
    activation : str
        Hidden activation.
    """

    def __init__(self, n_features: int, n_classes: int, n_latent: int = 5,
                 hidden: Sequence[int] = (128, 128), likelihood: str = "gaussian",
                 batch_norm: bool = True, activation: str = "relu") -> None:
        super().__init__()
        self.n_features, self.n_classes, self.n_latent = n_features, n_classes, n_latent
        self.likelihood = make_likelihood(likelihood)
        hidden = tuple(hidden)
        self.encoder_y = MLP(n_features, n_classes, hidden, batch_norm, activation)
        self.encoder_z = MLP(n_features + n_classes, 2 * n_latent, hidden, batch_norm, activation)
        self.decoder_x = MLP(n_latent + n_classes, self.likelihood.n_params(n_features), hidden,
                             batch_norm, activation)

    def encode_z(self, x: torch.Tensor, y_onehot: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x, y)."""
        return _gaussian_params(self.encoder_z(torch.cat([x, y_onehot], dim=-1)))

    def bounds(self, x_l: torch.Tensor, y_l: torch.Tensor, x_u: torch.Tensor,
               kl_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """Labeled bound (3.3), unlabeled bound (3.4) and log q(y|x) on labeled rows (3.5)."""
        k = self.n_classes
        x_rows, y_rows = enumerate_classes(x_l, y_l, x_u, k)                # (R, D), (R, K)
        mean, log_var = self.encode_z(x_rows, y_rows)                     # (R, Z)
        z = _gaussian_sample(mean, log_var)
        log_px = self.likelihood.log_prob(x_rows, self.decoder_x(torch.cat([z, y_rows], -1)))
        log_py = -math.log(k)                                              # uniform p(y)
        bound = labeled_bound(log_px, log_py, kl_standard_normal(mean, log_var), kl_weight)
        qy_logits = self.encoder_y(torch.cat([x_l, x_u]))                  # (n_l + n_u, K)
        return combine_bounds(bound, qy_logits, y_l, k)

    def predict_proba_samples(self, x: torch.Tensor, n_draws: int, n_steps: int,
                              generator: torch.Generator | None = None, global_draws=None
                              ) -> torch.Tensor:
        """q(y|x) repeated ``n_draws`` times (q(y|x) is deterministic), ``(n_draws, n, K)``."""
        p = torch.softmax(self.encoder_y(x), dim=-1)
        return p.expand(n_draws, *p.shape)

    def transform(self, x: torch.Tensor, n_steps: int,
                  generator: torch.Generator | None = None, step_draws=None) -> torch.Tensor:
        """E_q(y|x)[E q(z|x, y)] = sum_y q(y|x) mu(x, y), shape ``(n, Z)`` (``step_draws``
        unused: no weight posterior)."""
        n, k = x.shape[0], self.n_classes
        q = torch.softmax(self.encoder_y(x), dim=-1)                       # (n, K)
        eye = torch.eye(k, device=x.device, dtype=x.dtype)
        mean, _ = self.encode_z(x.expand(k, *x.shape), eye[:, None].expand(k, n, k))  # (K, n, Z)
        return torch.einsum("nk,knz->nz", q, mean)

    def sample(self, n: int, generator: torch.Generator | None = None, mean: bool = False
               ) -> torch.Tensor:
        """Draw x ~ p(x|y, z) with z ~ N(0, I) and y uniform; ``mean=True`` gives decoder means."""
        ref = next(self.parameters())
        z = torch.randn((n, self.n_latent), device=ref.device, dtype=ref.dtype,
                        generator=generator)
        y = torch.randint(self.n_classes, (n,), device=ref.device, generator=generator)
        y_onehot = F.one_hot(y, self.n_classes).to(ref.dtype)
        return self.likelihood.sample(self.decoder_x(torch.cat([z, y_onehot], -1)), generator,
                                      mean)


class AuxiliaryDGM(SemiSupervisedModule):
    """ADGM and SDGM of Maaloe et al. (2016), thesis section 3.1.1 (eqs. 3.6-3.8).

    Recognition model (both, eq. 3.6)::

        q(a, y, z|x) = q(z|a, y, x) q(y|a, x) q(a|x), Gaussian a and z, categorical y

    Generative model::

        ADGM (skip=False): p(z) p(y) p(x|y, z) p(a|x, y, z)
        SDGM (skip=True):  p(z) p(y) p(a|y, z) p(x|a, y, z)

    with p(z) = N(0, I), p(y) = Cat(1/K), Gaussian p(a|.) and a Gaussian or Bernoulli p(x|.).

    Labeled bound (3.7), one sample a ~ q(a|x), z ~ q(z|a, y, x)::

        L(x, y) = log p(x|.) + log p(y) + beta (log p(a|.) - log q(a|x))
                  - beta KL(q(z|a, y, x) || p(z))

    (analytic z-KL; beta is the KL warm-up weight, 1 for the bound itself).  Unlabeled bound
    (3.8): with one a ~ q(a|x) shared by the classes, sum_y q(y|a, x) L(x, y, a) + H[q(y|a, x)],
    every class enumerated.  ``log_qy`` is log q(y|a, x) with a sampled.

    Parameters
    ----------
    n_features, n_classes : int
        Input width D and number of classes K.
    n_latent, n_auxiliary : int
        Widths of z and a.
    hidden : sequence of int
        Hidden widths of the five networks.
    likelihood : {"gaussian", "bernoulli"}
        Observation model of x.
    batch_norm : bool
        Batch norm in all networks.
    activation : str
        Hidden activation.
    skip : bool
        SDGM (True) or ADGM (False).
    """

    def __init__(self, n_features: int, n_classes: int, n_latent: int = 5, n_auxiliary: int = 5,
                 hidden: Sequence[int] = (128, 128), likelihood: str = "gaussian",
                 batch_norm: bool = True, activation: str = "relu", skip: bool = True) -> None:
        super().__init__()
        self.n_features, self.n_classes = n_features, n_classes
        self.n_latent, self.n_auxiliary, self.skip = n_latent, n_auxiliary, skip
        self.likelihood = make_likelihood(likelihood)
        d, k, z, a = n_features, n_classes, n_latent, n_auxiliary
        n_px = self.likelihood.n_params(d)

        def mlp(n_in: int, n_out: int) -> MLP:
            return MLP(n_in, n_out, tuple(hidden), batch_norm, activation)

        self.encoder_a = mlp(d, 2 * a)                    # q(a|x)
        self.encoder_y = mlp(d + a, k)                    # q(y|a, x)
        self.encoder_z = mlp(d + a + k, 2 * z)            # q(z|a, y, x)
        if skip:
            self.decoder_a = mlp(k + z, 2 * a)            # p(a|y, z)
            self.decoder_x = mlp(a + k + z, n_px)         # p(x|a, y, z)
        else:
            self.decoder_a = mlp(d + k + z, 2 * a)        # p(a|x, y, z)
            self.decoder_x = mlp(k + z, n_px)             # p(x|y, z)

    # -- pieces ------------------------------------------------------------------------------
    def encode_a(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(a|x)."""
        return _gaussian_params(self.encoder_a(x))

    def qy_logits(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Logits of q(y|a, x)."""
        return self.encoder_y(torch.cat([x, a], dim=-1))

    def encode_z(self, x: torch.Tensor, a: torch.Tensor, y_onehot: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|a, y, x)."""
        return _gaussian_params(self.encoder_z(torch.cat([x, a, y_onehot], dim=-1)))

    def generative_params(self, x: torch.Tensor, a: torch.Tensor, y_onehot: torch.Tensor,
                          z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Parameters of p(a|.) (mean and log-variance concatenated) and of p(x|.)."""
        if self.skip:
            return (self.decoder_a(torch.cat([y_onehot, z], -1)),
                    self.decoder_x(torch.cat([a, y_onehot, z], -1)))
        return (self.decoder_a(torch.cat([x, y_onehot, z], -1)),
                self.decoder_x(torch.cat([y_onehot, z], -1)))

    # -- objective ---------------------------------------------------------------------------
    def bounds(self, x_l: torch.Tensor, y_l: torch.Tensor, x_u: torch.Tensor,
               kl_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """Labeled bound (3.7), unlabeled bound (3.8) and log q(y|a, x) on labeled rows."""
        n_l, k = x_l.shape[0], self.n_classes
        x_all = torch.cat([x_l, x_u])                                      # (n_l + n_u, D)
        mean_a, log_var_a = self.encode_a(x_all)                          # (n_l + n_u, A)
        a = _gaussian_sample(mean_a, log_var_a)
        log_qa = gaussian_log_likelihood(a, mean_a, log_var_a)            # (n_l + n_u,)
        qy_logits = self.qy_logits(x_all, a)                              # (n_l + n_u, K)
        x_rows, y_rows = enumerate_classes(x_l, y_l, x_u, k)                # (R, D), (R, K)
        a_rows = torch.cat([a[:n_l], a[n_l:].repeat(k, 1)])                # (R, A)
        log_qa_rows = torch.cat([log_qa[:n_l], log_qa[n_l:].repeat(k)])    # (R,)
        mean_z, log_var_z = self.encode_z(x_rows, a_rows, y_rows)         # (R, Z)
        z = _gaussian_sample(mean_z, log_var_z)
        pa_params, px_params = self.generative_params(x_rows, a_rows, y_rows, z)
        log_pa = gaussian_log_likelihood(a_rows, *_gaussian_params(pa_params))
        log_px = self.likelihood.log_prob(x_rows, px_params)
        kl_z = kl_standard_normal(mean_z, log_var_z)
        bound = (log_px - math.log(k) + kl_weight * (log_pa - log_qa_rows)
                 - kl_weight * kl_z)                                       # (R,)
        return combine_bounds(bound, qy_logits, y_l, k)

    # -- prediction --------------------------------------------------------------------------
    def _averaged_over_a(self, x: torch.Tensor, n_draws: int, n_steps: int,
                         generator: torch.Generator | None, fn) -> torch.Tensor:
        """Average ``fn(x, a)`` over ``n_steps`` draws a ~ q(a|x), separately per draw."""
        mean_a, log_var_a = self.encode_a(x)
        m = n_steps * n_draws                                              # all samples at once
        xs = x.expand(m, *x.shape)                                         # (T*S, n, D)
        a = _gaussian_sample(mean_a.expand(m, *mean_a.shape),
                             log_var_a.expand(m, *log_var_a.shape), generator)
        out = fn(xs, a)                                                    # (T*S, n, .)
        return out.reshape(n_steps, n_draws, *out.shape[1:]).mean(0)

    def predict_proba_samples(self, x: torch.Tensor, n_draws: int, n_steps: int,
                              generator: torch.Generator | None = None, global_draws=None
                              ) -> torch.Tensor:
        """Per draw, q(y|a, x) averaged over ``n_steps`` samples a ~ q(a|x): ``(n_draws, n, K)``.

        Draws differ only through the auxiliary samples (there is no weight posterior).
        """
        return self._averaged_over_a(
            x, n_draws, n_steps, generator,
            lambda xs, a: torch.softmax(self.qy_logits(xs, a), dim=-1))

    def transform(self, x: torch.Tensor, n_steps: int,
                  generator: torch.Generator | None = None, step_draws=None) -> torch.Tensor:
        """Mean latent code sum_y q(y|a, x) mu_z(a, y, x), averaged over ``n_steps`` a draws
        (``step_draws`` unused: no weight posterior)."""
        k = self.n_classes

        def mean_z(xs: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
            q = torch.softmax(self.qy_logits(xs, a), dim=-1)               # (m, n, K)
            eye = torch.eye(k, device=x.device, dtype=x.dtype)[:, None, None]
            mean, _ = self.encode_z(xs.expand(k, *xs.shape), a.expand(k, *a.shape),
                                    eye.expand(k, *q.shape))               # (K, m, n, Z)
            return torch.einsum("mnk,kmnz->mnz", q, mean)

        return self._averaged_over_a(x, 1, n_steps, generator, mean_z)[0]

    def sample(self, n: int, generator: torch.Generator | None = None, mean: bool = False
               ) -> torch.Tensor:
        """Ancestral draw from the generative model, y uniform.

        SDGM: z ~ p(z), a ~ p(a|y, z), x ~ p(x|a, y, z); ADGM: x ~ p(x|y, z) (a is not needed).
        ``mean=True`` uses the means of p(a|.) and p(x|.) instead of draws.
        """
        ref = next(self.parameters())
        z = torch.randn((n, self.n_latent), device=ref.device, dtype=ref.dtype,
                        generator=generator)
        y = torch.randint(self.n_classes, (n,), device=ref.device, generator=generator)
        y_onehot = F.one_hot(y, self.n_classes).to(ref.dtype)
        if self.skip:
            a_mean, a_log_var = _gaussian_params(self.decoder_a(torch.cat([y_onehot, z], -1)))
            a = a_mean if mean else _gaussian_sample(a_mean, a_log_var, generator)
            px_params = self.decoder_x(torch.cat([a, y_onehot, z], -1))
        else:
            px_params = self.decoder_x(torch.cat([y_onehot, z], -1))
        return self.likelihood.sample(px_params, generator, mean)

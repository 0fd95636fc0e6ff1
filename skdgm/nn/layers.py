"""Network building blocks: deterministic MLPs and Bayes-by-backprop MLPs.

Every network in skdgm is an MLP whose hidden layers are ``Linear -> BatchNorm -> activation``
(thesis 5.1.4).  The Bayesian MLP holds a factorised Gaussian posterior over its weights
(thesis 4.16-4.22, Blundell et al. 2015) and the batch norm of thesis 5.3, whose normalisation
statistics come from the pre-activations computed with the weight *means*.

Shapes: inputs may carry any number of leading dimensions; a Bayesian layer treats the first
dimension of a 3-d input ``(n_draws, n_rows, n_in)`` as independent weight draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {"relu": nn.ReLU, "softplus": nn.Softplus, "tanh": nn.Tanh, "elu": nn.ELU}


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module by name (``relu``, ``softplus``, ``tanh``, ``elu``)."""
    try:
        # in place where torch allows it: saves one pass over every hidden activation (autograd
        # would raise, not silently differ, if a needed tensor were overwritten)
        return ACTIVATIONS[name](inplace=True) if name in ("relu", "elu") else ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}") from None


def _init_linear(layer: nn.Linear) -> None:
    # The reference code: Xavier-uniform weights, biases 0.1 (REFERENCE_SETTINGS.md).
    nn.init.xavier_uniform_(layer.weight)
    nn.init.constant_(layer.bias, 0.1)


class MLP(nn.Module):
    """Deterministic MLP: ``[Linear -> BN -> act] * len(hidden) -> Linear``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    hidden : sequence of int
        Hidden layer widths.
    batch_norm : bool
        Batch-normalise each hidden pre-activation (thesis 5.1.4).
    activation : str
        Hidden activation.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        hidden: Sequence[int],
        batch_norm: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_in
        for h in hidden:
            lin = nn.Linear(width, h)
            _init_linear(lin)
            layers.append(lin)
            if batch_norm:
                # decay 0.99 and eps 1e-3 as in the reference code
                layers.append(nn.BatchNorm1d(h, eps=1e-3, momentum=0.01))
            layers.append(make_activation(activation))
            width = h
        out = nn.Linear(width, n_out)
        _init_linear(out)
        layers.append(out)
        self.net = nn.Sequential(*layers)
        self.batch_norm = batch_norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        h = x.reshape(-1, x.shape[-1])
        h = self.net(h) if self.training or not self.batch_norm else self._folded(h)
        return h.reshape(*lead, -1)

    def _folded(self, h: torch.Tensor) -> torch.Tensor:
        """Evaluation with each batch norm folded into the preceding linear layer (one fused
        matmul instead of a matmul and four elementwise passes); same result as ``self.net``."""
        mods = list(self.net)
        for i, mod in enumerate(mods):
            if isinstance(mod, nn.BatchNorm1d):
                continue
            nxt = mods[i + 1] if i + 1 < len(mods) else None
            if isinstance(mod, nn.Linear) and isinstance(nxt, nn.BatchNorm1d):
                scale, shift = _bn_affine(nxt.weight, nxt.bias, nxt.running_mean,
                                          nxt.running_var, nxt.eps)
                h = torch.addmm(mod.bias * scale + shift, h, (mod.weight * scale[:, None]).T)
            else:
                h = mod(h)
        return h


def _bn_affine(weight, bias, mean, var, eps) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch norm in evaluation as ``a * scale + shift``."""
    scale = weight * torch.rsqrt(var + eps)
    return scale, bias - mean * scale


class BayesianLinear(nn.Module):
    """Linear layer with a factorised Gaussian posterior q(W) = N(mu, exp(log_var)).

    The prior is N(0, prior_std^2) on every weight and bias (thesis 4.16).  Weights are drawn
    with the reparameterisation trick (Bayes-by-backprop); one draw is shared by all rows of a
    draw (as in the reference code).

    Parameters
    ----------
    n_in, n_out : int
        Widths.
    init_log_var : float
        Initial log-variance of every weight; tiny variances make early training behave
        like MAP estimation (thesis 5.1.3).
    prior_std : float
        Standard deviation of the Gaussian prior.
    """

    def __init__(self, n_in: int, n_out: int, init_log_var: float = -10.0,
                 prior_std: float = 1.0) -> None:
        super().__init__()
        self.n_in, self.n_out, self.prior_std = n_in, n_out, prior_std
        self.weight_mu = nn.Parameter(torch.empty(n_out, n_in))
        self.bias_mu = nn.Parameter(torch.full((n_out,), 0.1))
        self.weight_log_var = nn.Parameter(torch.full((n_out, n_in), float(init_log_var)))
        self.bias_log_var = nn.Parameter(torch.full((n_out,), float(init_log_var)))
        nn.init.xavier_uniform_(self.weight_mu)

    def sample_weights(self, n_draws: int, generator: torch.Generator | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n_draws`` weight sets, shapes ``(n_draws, n_out, n_in)`` and ``(n_draws, n_out)``.
        """
        mu_w, mu_b = self.weight_mu, self.bias_mu
        eps_w = torch.randn((n_draws, *mu_w.shape), device=mu_w.device, dtype=mu_w.dtype,
                            generator=generator)
        eps_b = torch.randn((n_draws, *mu_b.shape), device=mu_b.device, dtype=mu_b.dtype,
                            generator=generator)
        w = mu_w + torch.exp(0.5 * self.weight_log_var) * eps_w
        b = mu_b + torch.exp(0.5 * self.bias_log_var) * eps_b
        return w, b

    def mean_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-activation with the posterior means, ``x @ mu_W^T + mu_b`` (thesis 5.10)."""
        return F.linear(x, self.weight_mu, self.bias_mu)

    def forward(self, x: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> torch.Tensor:
        """Apply sampled weights.

        ``x`` has shape ``(n_draws, n_rows, n_in)``; ``weights`` is the output of
        :meth:`sample_weights` (one set per draw).  With ``weights=None`` the means are used.
        """
        if weights is None:
            return self.mean_forward(x)
        w, b = weights
        return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))

    def kl(self) -> torch.Tensor:
        """Analytic KL(q(W) || p(W)) summed over all weights and biases."""
        total = self.weight_mu.new_zeros(())
        log_p_var = 2.0 * math.log(self.prior_std)
        for mu, log_var in ((self.weight_mu, self.weight_log_var),
                            (self.bias_mu, self.bias_log_var)):
            total = total + 0.5 * torch.sum(
                (log_var.exp() + mu.pow(2)) / self.prior_std**2 - 1.0 - log_var + log_p_var
            )
        return total


def _linear(h: torch.Tensor, w: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """``h @ W^T + b`` for one weight set (2-d W) or one per draw (3-d W, h of shape
    ``(n_draws, n_rows, n_in)``)."""
    if w[0].dim() == 3:
        return torch.baddbmm(w[1].unsqueeze(1), h, w[0].transpose(1, 2))
    return F.linear(h, w[0], w[1])


class MeanWeightBatchNorm(nn.Module):
    """Batch norm for Bayesian layers whose statistics come from the weight means (thesis 5.3).

    In training the sampled-weight pre-activation ``a`` is normalised with the batch mean and
    variance of the *mean-weight* pre-activation ``a_mean`` (eq. 5.10), so the normalisation
    does not depend on the weight draw; running averages of those statistics (eq. 5.5) are used
    in evaluation.  With ``statistics="sampled"`` it is the naive batch norm of the sampled
    pre-activation (thesis Fig. 5.5b), kept for comparison.
    """

    def __init__(self, n_features: int, eps: float = 1e-3, momentum: float = 0.01,
                 statistics: str = "weight_means") -> None:
        super().__init__()
        if statistics not in ("weight_means", "sampled"):
            raise ValueError(f"statistics must be 'weight_means' or 'sampled', got {statistics!r}")
        self.statistics = statistics
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(n_features))
        self.bias = nn.Parameter(torch.zeros(n_features))
        self.register_buffer("running_mean", torch.zeros(n_features))
        self.register_buffer("running_var", torch.ones(n_features))

    def forward(self, a: torch.Tensor, a_mean: torch.Tensor | None = None) -> torch.Tensor:
        if self.training:
            ref = a if (self.statistics == "sampled" or a_mean is None) else a_mean
            ref = ref.reshape(-1, ref.shape[-1])
            mean = ref.mean(0)
            var = ref.var(0, unbiased=False)
            with torch.no_grad():
                n = ref.shape[0]
                unbiased = var * n / max(n - 1, 1)
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(unbiased.detach(), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return (a - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class BayesianMLP(nn.Module):
    """MLP whose every layer is a :class:`BayesianLinear` (the Bayesian classifier of SSLAPD).

    Parameters
    ----------
    n_in, n_out : int
        Widths.
    hidden : sequence of int
        Hidden widths.
    batch_norm : bool
        Use :class:`MeanWeightBatchNorm` after each hidden layer.
    bn_statistics : {"weight_means", "sampled"}
        Where the batch-norm statistics come from (thesis 5.3).
    init_log_var, prior_std : float
        See :class:`BayesianLinear`.
    """

    def __init__(self, n_in: int, n_out: int, hidden: Sequence[int], batch_norm: bool = True,
                 activation: str = "relu", init_log_var: float = -10.0, prior_std: float = 1.0,
                 bn_statistics: str = "weight_means") -> None:
        super().__init__()
        widths = [n_in, *hidden, n_out]
        self.linears = nn.ModuleList(
            BayesianLinear(a, b, init_log_var, prior_std) for a, b in zip(widths, widths[1:])
        )
        self.norms = nn.ModuleList(
            MeanWeightBatchNorm(h, statistics=bn_statistics) if batch_norm else nn.Identity()
            for h in hidden
        )
        self.act = make_activation(activation)
        self.batch_norm = batch_norm

    def sample_weights(self, n_draws: int, generator: torch.Generator | None = None) -> list:
        """One weight set per layer, each with ``n_draws`` draws."""
        return [lin.sample_weights(n_draws, generator) for lin in self.linears]

    def forward(self, x: torch.Tensor, weights: list | None = None) -> torch.Tensor:
        """Forward ``x`` of shape ``(n_draws, n_rows, n_in)`` with one weight set per draw.

        ``weights=None`` uses the posterior means (``x`` may then have any leading shape).
        """
        h = x
        last = len(self.linears) - 1
        for i, lin in enumerate(self.linears):
            w = (lin.weight_mu, lin.bias_mu) if weights is None else weights[i]
            if i == last:
                return _linear(h, w)
            if self.batch_norm and not self.training:
                # evaluation: fold the running-statistics batch norm into the weights
                norm = self.norms[i]
                scale, shift = _bn_affine(norm.weight, norm.bias, norm.running_mean,
                                          norm.running_var, norm.eps)
                h = self.act(_linear(h, (w[0] * scale[:, None], w[1] * scale + shift)))
                continue
            a = _linear(h, w)
            if self.batch_norm:
                needs_mean = self.training and weights is not None
                a = self.norms[i](a, lin.mean_forward(h) if needs_mean else a)
            h = self.act(a)
        raise AssertionError("unreachable")

    def kl(self) -> torch.Tensor:
        """KL(q(W) || p(W)) over all layers."""
        return sum(lin.kl() for lin in self.linears)

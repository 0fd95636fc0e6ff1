"""Network building blocks: deterministic MLPs and Bayes-by-backprop MLPs.

Every network in skdgm is an MLP whose hidden layers are ``Linear -> BatchNorm -> activation``
(thesis 5.1.4).  The Bayesian MLP holds a factorised Gaussian posterior over its weights
(thesis 4.16-4.22, Blundell et al. 2015) and the batch norm of thesis 5.3, whose normalisation
statistics come from the pre-activations computed with the weight *means*.

Shapes: inputs may carry any number of leading dimensions; a Bayesian layer treats the first
dimension of a 3-d input ``(n_draws, n_rows, n_in)`` as independent weight draws.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

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


def _rows(a: torch.Tensor) -> torch.Tensor:
    """``a`` as a 2-d ``(rows, features)`` tensor; a 2-d tensor is returned as is, not as a
    view, so that in-place activations on it do not make autograd copy its base."""
    return a if a.dim() == 2 else a.reshape(-1, a.shape[-1])


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
        h = self.net(h) if self.training or not self.batch_norm else self._folded(h, list(self.net))
        return h.reshape(*lead, -1)

    def first_layer(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Weights ``[(W, b)]`` of the first linear layer, for computing its pre-activation in
        parts (see :func:`split_linear`); in evaluation with batch norm the running-statistics
        batch norm is folded in.  :meth:`forward_from_first` continues from that pre-activation.
        """
        lin = self.net[0]
        if self._folds_first():
            bn = self.net[1]
            scale, shift = _bn_affine(bn.weight, bn.bias, bn.running_mean, bn.running_var, bn.eps)
            return [(lin.weight * scale[:, None], lin.bias * scale + shift)]
        return [(lin.weight, lin.bias)]

    def forward_from_first(self, pre: list[torch.Tensor]) -> torch.Tensor:
        """Everything after the first linear layer, given ``pre = [x @ W^T + b]`` computed with
        :meth:`first_layer`'s weights; ``forward(x) == forward_from_first([x @ W^T + b])``.
        ``pre[0]`` may be overwritten (in-place activation)."""
        a = pre[0]
        lead = a.shape[:-1]
        h = _rows(a)
        mods = list(self.net)[1:]
        if self._folds_first():
            h = self._folded(h, mods[1:])                    # mods[0], the batch norm, is folded
        elif self.training or not self.batch_norm:
            for mod in mods:
                h = mod(h)
        else:
            h = self._folded(h, mods)
        return h.reshape(*lead, -1)

    def _folds_first(self) -> bool:
        return not self.training and len(self.net) > 1 and isinstance(self.net[1], nn.BatchNorm1d)

    @staticmethod
    def _folded(h: torch.Tensor, mods: list[nn.Module]) -> torch.Tensor:
        """Evaluation of ``mods`` (a tail of ``self.net`` starting at a layer that is not a batch
        norm) with each batch norm folded into the preceding linear layer (one fused matmul
        instead of a matmul and four elementwise passes); same result as running ``mods``."""
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

    def sample_weights(self, n_draws: int | None, generator: torch.Generator | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n_draws`` weight sets, shapes ``(n_draws, n_out, n_in)`` and ``(n_draws, n_out)``.

        ``n_draws=None`` draws one set without the draw dimension (shapes ``(n_out, n_in)`` and
        ``(n_out,)``), shared by every row: the training step's draw, whose layers then run as
        plain matmuls instead of batched ones.
        """
        mu_w, mu_b = self.weight_mu, self.bias_mu
        lead = () if n_draws is None else (n_draws,)
        eps_w = torch.randn((*lead, *mu_w.shape), device=mu_w.device, dtype=mu_w.dtype,
                            generator=generator)
        eps_b = torch.randn((*lead, *mu_b.shape), device=mu_b.device, dtype=mu_b.dtype,
                            generator=generator)
        w = torch.addcmul(mu_w, torch.exp(0.5 * self.weight_log_var), eps_w)
        b = torch.addcmul(mu_b, torch.exp(0.5 * self.bias_log_var), eps_b)
        return w, b

    def mean_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-activation with the posterior means, ``x @ mu_W^T + mu_b`` (thesis 5.10)."""
        return F.linear(x, self.weight_mu, self.bias_mu)

    def forward(self, x: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> torch.Tensor:
        """Apply sampled weights.

        ``x`` has shape ``(n_draws, n_rows, n_in)``; ``weights`` is the output of
        :meth:`sample_weights` (one set per draw; for a draw without the draw dimension ``x``
        may have any leading shape).  With ``weights=None`` the means are used.
        """
        if weights is None:
            return self.mean_forward(x)
        return _linear(x, weights)

    def kl(self) -> torch.Tensor:
        """Analytic KL(q(W) || p(W)) summed over all weights and biases."""
        total = self.weight_mu.new_zeros(())
        log_p_var = 2.0 * math.log(self.prior_std)
        for mu, log_var in ((self.weight_mu, self.weight_log_var),
                            (self.bias_mu, self.bias_log_var)):
            # 0.5 * sum((exp(lv) + mu^2) / s^2 - 1 - lv + log s^2), as sums of whole tensors:
            # three reductions instead of seven elementwise passes over every weight
            mu = mu.reshape(-1)
            total = total + 0.5 * (
                (log_var.exp().sum() + torch.dot(mu, mu)) / self.prior_std**2
                - log_var.sum() + mu.numel() * (log_p_var - 1.0)
            )
        return total


def _linear(h: torch.Tensor, w: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """``h @ W^T + b`` for one weight set (2-d W) or one per draw (3-d W, h of shape
    ``(n_draws, n_rows, n_in)``)."""
    if w[0].dim() == 3:
        return torch.baddbmm(w[1].unsqueeze(1), h, w[0].transpose(1, 2))
    return F.linear(h, w[0], w[1])


class _ReferenceBatchNorm(torch.autograd.Function):
    """Training batch norm of ``a`` with the batch statistics of a reference ``ref`` (eq. 5.10).

    ``out = (a - mu) * gamma / sqrt(var + eps) + beta`` with ``mu, var`` the biased moments of
    ``ref`` over its rows.  Autograd of that formula makes about a dozen passes over the
    activations (its backward alone is several elementwise ops per moment); this function
    makes two forward and four backward passes with the gradient written out.  With
    ``s = gamma / sqrt(var + eps)``, ``a_hat = (a - mu) / sqrt(var + eps)``, ``r_hat`` likewise
    for ``ref``, ``N`` the rows of ``ref`` and the sums over the rows of ``a``::

        d_a = g * s,   d_beta = sum(g),   d_gamma = sum(g * a_hat),
        d_ref = -(s / N) * (sum(g) + r_hat * sum(g * a_hat))

    (the ``sum(g)`` term comes through ``mu``, the ``r_hat`` term through ``var``).  When ``ref``
    is ``a`` itself the two gradients add up to the usual batch-norm gradient.  Inputs are
    2-d ``(rows, features)``; returns ``out`` and the (non-differentiable) ``mu`` and ``var``.
    """

    @staticmethod
    def forward(ctx, a, ref, weight, bias, eps):
        # two-pass moments: torch.var over dim 0 is ~10x slower than this on CPU
        mean = ref.mean(0)
        var = (ref - mean).square_().mean(0)
        inv_std = torch.rsqrt(var + eps)
        scale = weight * inv_std
        out = torch.addcmul(bias - mean * scale, a, scale)
        ctx.save_for_backward(a, ref, weight, mean, inv_std)
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    def backward(ctx, g, _g_mean, _g_var):
        a, ref, weight, mean, inv_std = ctx.saved_tensors
        scale = weight * inv_std
        g_sum = g.sum(0)
        g_ahat = (a - mean).mul_(g).sum(0) * inv_std                   # sum(g * a_hat)
        d_a = g * scale if ctx.needs_input_grad[0] else None
        d_ref = None
        if ctx.needs_input_grad[1]:
            c1 = scale * inv_std * g_ahat / -ref.shape[0]               # coefficient of ref
            d_ref = torch.addcmul(scale * g_sum / -ref.shape[0] - c1 * mean, ref, c1)
        return d_a, d_ref, g_ahat, g_sum, None


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
        if not self.training:
            # (a - mean) / sqrt(var + eps) * weight + bias as one fused pass over a
            scale = self.weight * torch.rsqrt(self.running_var + self.eps)
            return torch.addcmul(self.bias - self.running_mean * scale, a, scale)
        ref = a if (self.statistics == "sampled" or a_mean is None) else a_mean
        ref = _rows(ref)
        out, mean, var = _ReferenceBatchNorm.apply(_rows(a), ref, self.weight, self.bias,
                                                   self.eps)
        with torch.no_grad():
            n = ref.shape[0]
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * n / max(n - 1, 1), self.momentum)
        return out if a.dim() == 2 else out.reshape(a.shape)


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

    def sample_weights(self, n_draws: int | None, generator: torch.Generator | None = None
                       ) -> list:
        """One weight set per layer, each with ``n_draws`` draws (``None``: one draw without
        the draw dimension, see :meth:`BayesianLinear.sample_weights`)."""
        return [lin.sample_weights(n_draws, generator) for lin in self.linears]

    def forward(self, x: torch.Tensor, weights: list | None = None) -> torch.Tensor:
        """Forward ``x`` of shape ``(n_draws, n_rows, n_in)`` with one weight set per draw.

        ``weights=None`` uses the posterior means (``x`` may then have any leading shape).
        """
        pre = [_linear(x, w) for w in self.first_layer(weights)]
        return self.forward_from_first(pre, weights)

    def _weights(self, i: int, weights: list | None) -> tuple[torch.Tensor, torch.Tensor]:
        lin = self.linears[i]
        return (lin.weight_mu, lin.bias_mu) if weights is None else weights[i]

    def _folded_weights(self, i: int, w: tuple[torch.Tensor, torch.Tensor]
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer ``i``'s weights with its running-statistics batch norm folded in (evaluation)."""
        norm = self.norms[i]
        scale, shift = _bn_affine(norm.weight, norm.bias, norm.running_mean, norm.running_var,
                                  norm.eps)
        return w[0] * scale[:, None], w[1] * scale + shift

    def first_layer(self, weights: list | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Weight sets ("streams") of the first layer, for computing its pre-activation in parts
        (see :func:`split_linear`): the used weights (with the batch norm folded in, in
        evaluation), then, in training with weight-mean batch-norm statistics and sampled
        weights, the weight means whose pre-activation gives the statistics (thesis 5.10).
        :meth:`forward_from_first` takes one pre-activation per stream.
        """
        w = self._weights(0, weights)
        if not self.batch_norm or len(self.linears) == 1:
            return [w]
        if not self.training:
            return [self._folded_weights(0, w)]
        if (weights is not None
                and self.norms[0].statistics == "weight_means"):
            lin = self.linears[0]
            return [w, (lin.weight_mu, lin.bias_mu)]
        return [w]

    def forward_from_first(self, pre: list[torch.Tensor], weights: list | None = None
                           ) -> torch.Tensor:
        """Everything after the first linear layer, given the pre-activations of
        :meth:`first_layer`'s streams (same ``weights``).  ``pre[0]`` may be overwritten."""
        h = pre[0]
        last = len(self.linears) - 1
        if last == 0:
            return h
        if self.batch_norm and self.training:
            h = self.norms[0](h, pre[-1])
        h = self.act(h)
        for i in range(1, last + 1):
            w = self._weights(i, weights)
            if i == last:
                return _linear(h, w)
            if self.batch_norm and not self.training:
                # evaluation: fold the running-statistics batch norm into the weights
                h = self.act(_linear(h, self._folded_weights(i, w)))
                continue
            a = _linear(h, w)
            if self.batch_norm:
                needs_mean = weights is not None
                a = self.norms[i](a, self.linears[i].mean_forward(h) if needs_mean else a)
            h = self.act(a)
        raise AssertionError("unreachable")

    def kl(self) -> torch.Tensor:
        """KL(q(W) || p(W)) over all layers."""
        return sum(lin.kl() for lin in self.linears)


def split_linear(x_part: torch.Tensor, w: tuple[torch.Tensor, torch.Tensor], n_x: int, *,
                 index: torch.Tensor | None = None, z: torch.Tensor | None = None
                 ) -> torch.Tensor:
    """Pre-activation ``[x, other] @ W^T + b`` of a first layer, from a precomputed x-part.

    ``x_part = linear_x_part(x, w, n_x)`` (``x @ W_x^T + b``, computed once per distinct row
    and weight set) broadcasts against the other part, which is either one-hot classes given
    by ``index`` (``W_y[:, y]``: a row lookup in ``W_y^T`` instead of a matmul; 2-d ``W`` only)
    or a dense ``z @ W_z^T`` (``W`` of shape ``(out, in)`` or ``(n_draws, out, in)``, ``z`` of
    shape ``(..., n_rows, m)``).  Batching over leading dimensions as in :func:`_linear`.
    """
    w_other = w[0][..., n_x:]
    if index is not None:
        lookup = w_other.T.index_select(0, index.reshape(-1))
        return x_part + lookup.reshape(*index.shape, -1)
    if w_other.dim() == 2 and x_part.dim() == 2 and (z.dim() == 2 or z.shape[0] == 1):
        # one weight set and one z per row (a single chain): a plain matmul, the fastest path
        out = torch.addmm(x_part, _rows(z), w_other.T)
        return out if z.dim() == 2 else out.reshape(*z.shape[:-1], -1)
    s = max(z.shape[0] if z.dim() == 3 else 1, w_other.shape[0] if w_other.dim() == 3 else 1)
    return torch.baddbmm(x_part, z.expand(s, *z.shape[-2:]),
                         w_other.expand(s, *w_other.shape[-2:]).transpose(1, 2))


def linear_x_part(x: torch.Tensor, w: tuple[torch.Tensor, torch.Tensor], n_x: int
                  ) -> torch.Tensor:
    """``x @ W[..., :n_x]^T + b``: the part of a first layer's pre-activation that depends only
    on the first ``n_x`` input columns; shape ``(n_rows, out)``, or ``(n_draws, n_rows, out)``
    for weights with a draw dimension (``x`` 2-d and shared by the draws, or 3-d)."""
    w_x, b = w[0][..., :n_x], w[1]
    if w_x.dim() == 2:
        return F.linear(x, w_x, b)
    s = w_x.shape[0]
    return torch.baddbmm(b.unsqueeze(1), x.expand(s, *x.shape[-2:]), w_x.transpose(1, 2))


@contextlib.contextmanager
def batch_statistics(module: nn.Module) -> Iterator[nn.Module]:
    """Run ``module`` in the training regime of batch norm without changing it.

    Inside the block every batch norm normalises with the statistics of the batch it is given
    (as in training) instead of its running averages, and the running averages are not updated;
    the module's training flags and momenta are restored on exit.  This is the "training regime
    for test data" of thesis Fig. 5.5a, kept for comparisons: evaluation normally uses the
    running averages (``module.eval()``).
    """
    norms = [m for m in module.modules()
             if isinstance(m, (nn.modules.batchnorm._BatchNorm, MeanWeightBatchNorm))]
    flags = {m: m.training for m in module.modules()}
    momenta = [m.momentum for m in norms]
    counts = [m.num_batches_tracked.clone() for m in norms if hasattr(m, "num_batches_tracked")]
    try:
        for m in norms:
            m.momentum = 0.0
        module.train()
        yield module
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        for m, count in zip([m for m in norms if hasattr(m, "num_batches_tracked")], counts):
            m.num_batches_tracked.copy_(count)
        for m, flag in flags.items():
            m.training = flag

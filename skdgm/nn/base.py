"""The semi-supervised objective shared by every skdgm model.

A model module implements :meth:`SemiSupervisedModule.bounds` (per-row labeled bounds,
unlabeled bounds and log q(y|x) on labeled rows) and the prediction hooks; this base class
combines the bounds into one minibatch objective, so the weighting of labeled against
unlabeled data is defined once for all models.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from skdgm.nn.elbo import unlabeled_bound


def enumerate_classes(x_l: torch.Tensor, y_l: torch.Tensor, x_u: torch.Tensor, k: int
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Labeled rows followed by K class-major copies of the unlabeled rows (eqs. 4.11-4.13).

    Returns x of shape (R, D) and one-hot y of shape (R, K), R = n_l + K n_u, so every network
    sees labeled rows and all classes of the unlabeled rows in one batched pass.
    """
    eye = torch.eye(k, device=x_u.device, dtype=x_u.dtype)
    x_rows = torch.cat([x_l, x_u.repeat(k, 1)])
    y_rows = torch.cat([F.one_hot(y_l, k).to(x_u.dtype),
                        eye.repeat_interleave(x_u.shape[0], dim=0)])
    return x_rows, y_rows


def combine_bounds(bound: torch.Tensor, qy_logits: torch.Tensor, y_l: torch.Tensor, k: int
                   ) -> dict[str, torch.Tensor]:
    """Per-row bounds of :func:`enumerate_classes` rows (R,) and q(y|.) logits (n_l + n_u, K)
    into the labeled bound, the unlabeled bound (4.9) and log q(y|x) on labeled rows."""
    n_l = y_l.shape[0]
    n_u = qy_logits.shape[0] - n_l
    per_class = bound[n_l:].reshape(k, n_u).T                              # (n_u, K)
    log_qy = torch.log_softmax(qy_logits[:n_l], dim=-1).gather(1, y_l[:, None])[:, 0]
    return {"labeled": bound[:n_l], "unlabeled": unlabeled_bound(qy_logits[n_l:], per_class),
            "log_qy": log_qy}


class SemiSupervisedModule(nn.Module):
    """Base class of the torch modules behind the estimators.

    The per-step objective (maximised) is

        J = mean_u U(x) + labeled_weight * mean_l L(x, y)
            + alpha * mean_l log q(y|x) - KL(q(W) || p(W)) / n_train

    (thesis 4.10 / 4.20-4.22).  ``labeled_weight=1`` is the thesis's reference code (each part
    averaged over its own batch); ``labeled_weight = N_l / N_u`` is the full-data sum of Kingma
    et al. (2014) up to a constant factor.  The global KL term is counted once per pass over
    the ``n_train`` training rows.  Parts whose batch is empty are left out.
    """

    n_classes: int
    #: Gibbs steps used by :meth:`forward` (skorch's own predict path); set by the estimator
    prediction_steps: int = 10

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictive class probabilities (lets skorch's ``predict_proba`` work)."""
        return self.predict_proba(x, self.prediction_steps)

    def bounds(self, x_l: torch.Tensor, y_l: torch.Tensor, x_u: torch.Tensor,
               kl_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """Return ``labeled`` (n_l,), ``unlabeled`` (n_u,) and ``log_qy`` (n_l,) bounds."""
        raise NotImplementedError

    def global_kl(self) -> torch.Tensor | float:
        """KL divergence of global (weight) posteriors; 0 for point-estimate models."""
        return 0.0

    def mc_bounds(self, x_l: torch.Tensor, y_l: torch.Tensor, x_u: torch.Tensor,
                  kl_weight: float = 1.0, n_samples: int = 1) -> dict[str, torch.Tensor]:
        """:meth:`bounds` averaged over ``n_samples`` draws of the local latent variables per
        row, computed as one pass over ``n_samples`` tiled copies of the batch (global weight
        draws, as in SSLAPD, are shared by the copies; batch-norm statistics are unchanged, the
        copies being equal)."""
        if n_samples == 1:
            return self.bounds(x_l, y_l, x_u, kl_weight)
        s = n_samples
        # row i of copy c is sample c of row i
        terms = self.bounds(x_l.repeat(s, 1), y_l.repeat(s), x_u.repeat(s, 1), kl_weight)
        rows = {"labeled": x_l.shape[0], "unlabeled": x_u.shape[0], "log_qy": x_l.shape[0]}
        return {name: t.reshape(s, rows[name]).mean(0) for name, t in terms.items()}

    def objective(self, x_l: torch.Tensor, y_l: torch.Tensor, x_u: torch.Tensor, *,
                  kl_weight: float = 1.0, labeled_weight: float = 1.0, alpha: float = 0.0,
                  n_train: int = 1, n_mc_samples: int = 1) -> dict[str, torch.Tensor]:
        """Minibatch estimate of the objective, the bounds averaged over ``n_mc_samples``
        latent draws per row (:meth:`mc_bounds`); ``loss`` is its negative (to minimise)."""
        terms = self.mc_bounds(x_l, y_l, x_u, kl_weight, n_mc_samples)
        zero = x_l.new_zeros(()) if x_l.numel() else x_u.new_zeros(())
        j_u = terms["unlabeled"].mean() if x_u.shape[0] else zero
        j_l = terms["labeled"].mean() if x_l.shape[0] else zero
        j_q = terms["log_qy"].mean() if x_l.shape[0] else zero
        kl_w = self.global_kl() / n_train
        objective = j_u + labeled_weight * j_l + alpha * j_q - kl_w
        return {"loss": -objective, "unlabeled_bound": j_u.detach(),
                "labeled_bound": j_l.detach(), "log_qy": j_q.detach(),
                "kl_weights": torch.as_tensor(kl_w).detach()}

    def sample_global(self, n_draws: int, generator: torch.Generator | None = None):
        """``n_draws`` draws of the global (weight) posterior, to be shared by every row of a
        prediction (see ``global_draws`` of :meth:`predict_proba_samples`); ``None`` for models
        without one."""
        return None

    def predict_proba_samples(self, x: torch.Tensor, n_draws: int, n_steps: int,
                              generator: torch.Generator | None = None, global_draws=None
                              ) -> torch.Tensor:
        """Class probabilities per posterior draw, shape ``(n_draws, n_rows, n_classes)``;
        ``global_draws`` (from :meth:`sample_global`) fixes the draws, so that draw ``d`` is
        the same model for rows predicted in different chunks."""
        raise NotImplementedError

    def sample_global_steps(self, n_steps: int, generator: torch.Generator | None = None):
        """Global draws for the ``n_steps`` steps of :meth:`predict_proba`, to be shared by
        every row of a prediction (``step_draws``); ``None`` for models without them."""
        return None

    def predict_proba(self, x: torch.Tensor, n_steps: int,
                      generator: torch.Generator | None = None, step_draws=None
                      ) -> torch.Tensor:
        """Predictive class probabilities, shape ``(n_rows, n_classes)``; ``step_draws`` is
        the output of :meth:`sample_global_steps` (unused by models without global draws)."""
        return self.predict_proba_samples(x, 1, n_steps, generator)[0]

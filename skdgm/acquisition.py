"""Active-learning acquisition functions.

Implements the Monte-Carlo acquisition functions of Gordon (2017), sections 2.2.1
and 3.2.1 (variation ratios, predictive entropy and BALD mutual information,
eqs. 2.2-2.4 / 3.10-3.13), a random baseline, top-k selection, and greedy
BatchBALD (Kirsch, van Amersfoort & Gal, 2019).

All scoring functions take Monte-Carlo class-probability samples of shape
``(n_draws, n_samples, n_classes)`` -- posterior draws first -- where
``probs[d, i]`` is ``p(y | x_i, w_d)`` for a weight sample ``w_d``. Entropies
use natural logarithms (nats).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from numpy.typing import ArrayLike
from scipy.special import xlogy
from sklearn.utils import check_random_state

__all__ = [
    "bald",
    "batch_bald",
    "predictive_entropy",
    "random_scores",
    "select_top_k",
    "variation_ratios",
]

_SUM_TOL = 1e-4
# Largest number of float64 entries materialised at once (twice) in BatchBALD, on the CPU
# (cache-sized, measured fastest) and on other devices.
_MAX_CHUNK_ELEMENTS = 1 << 19
_MAX_CHUNK_ELEMENTS_DEVICE = 1 << 26


def _entropy(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy ``-sum p log p`` (nats) along ``axis``, with ``0 log 0 = 0``."""
    return -np.sum(xlogy(p, p), axis=axis)


def _check_probs(probs: ArrayLike) -> np.ndarray:
    """Validate MC probability samples and return them as a float64 array."""
    try:
        arr = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"probs must be a numeric array-like; got {type(probs)!r}.") from exc
    if arr.ndim != 3:
        raise ValueError(
            "probs must be a 3-d array of shape (n_draws, n_samples, n_classes); "
            f"got an array with {arr.ndim} dimension(s) and shape {arr.shape}."
        )
    if arr.shape[0] < 1 or arr.shape[2] < 1:
        raise ValueError(f"probs needs at least one draw and one class; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("probs contains NaN or infinite values.")
    if np.any(arr < 0):
        raise ValueError(f"probs must be non-negative; minimum value is {arr.min()!r}.")
    if arr.size:
        err = np.abs(arr.sum(axis=-1) - 1.0)
        if np.any(err > _SUM_TOL):
            raise ValueError(
                "probs must sum to 1 over the class axis (last axis) within "
                f"{_SUM_TOL}; the largest deviation is {err.max()!r}."
            )
    return arr


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1; got {value}.")
    return int(value)


def _rng(random_state) -> np.random.Generator | np.random.RandomState:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return check_random_state(random_state)


def _uniform(rng, size: int) -> np.ndarray:
    if isinstance(rng, np.random.Generator):
        return rng.random(size)
    return rng.random_sample(size)


def _integers(rng, high: int, size: int) -> np.ndarray:
    if isinstance(rng, np.random.Generator):
        return rng.integers(high, size=size)
    return rng.randint(high, size=size)


def predictive_entropy(probs: ArrayLike) -> np.ndarray:
    """Entropy of the MC-averaged predictive distribution (eqs. 2.3 / 3.11).

    ``H[p_hat(y|x)]`` with ``p_hat = mean_d p(y|x, w_d)`` (eq. 3.9).

    Parameters
    ----------
    probs : array-like of shape (n_draws, n_samples, n_classes)
        Class probabilities for each posterior draw.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Predictive entropy in nats, in ``[0, log n_classes]``.
    """
    p = _check_probs(probs)
    return _entropy(p.mean(axis=0))


def variation_ratios(probs: ArrayLike) -> np.ndarray:
    """Variation ratios ``1 - max_y p_hat(y|x)`` (eqs. 2.2 / 3.10).

    Parameters
    ----------
    probs : array-like of shape (n_draws, n_samples, n_classes)
        Class probabilities for each posterior draw.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Scores in ``[0, 1 - 1/n_classes]``.
    """
    p = _check_probs(probs)
    return np.maximum(1.0 - p.mean(axis=0).max(axis=-1), 0.0)


def bald(probs: ArrayLike) -> np.ndarray:
    """BALD mutual information between label and weights (eqs. 2.4 / 3.12-3.13).

    ``I(y; w | x) = H[p_hat(y|x)] - mean_d H[p(y|x, w_d)]``, clipped at 0 from
    below to absorb floating-point round-off.

    Parameters
    ----------
    probs : array-like of shape (n_draws, n_samples, n_classes)
        Class probabilities for each posterior draw.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
        Mutual information in nats, in ``[0, predictive_entropy]``.
    """
    p = _check_probs(probs)
    mi = _entropy(p.mean(axis=0)) - _entropy(p).mean(axis=0)
    return np.maximum(mi, 0.0)


def random_scores(n_samples: int, random_state=None) -> np.ndarray:
    """Uniform random scores in ``[0, 1)``: the random-acquisition baseline.

    Parameters
    ----------
    n_samples : int
        Number of pool points to score.
    random_state : int, RandomState, Generator or None, default=None
        Seed or random number generator.

    Returns
    -------
    scores : ndarray of shape (n_samples,)
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
        raise ValueError(f"n_samples must be an integer; got {n_samples!r}.")
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0; got {n_samples}.")
    return np.asarray(_uniform(_rng(random_state), int(n_samples)), dtype=np.float64)


def select_top_k(scores: ArrayLike, n_instances: int) -> np.ndarray:
    """Indices of the ``n_instances`` largest scores, in descending score order.

    Ties are broken in favour of the lower index (stable sort).

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Acquisition scores; must be finite.
    n_instances : int
        Number of indices to return, ``1 <= n_instances <= n_samples``.

    Returns
    -------
    indices : ndarray of shape (n_instances,), dtype int64
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-d; got shape {s.shape}.")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contains NaN or infinite values.")
    n_instances = _check_positive_int(n_instances, "n_instances")
    if n_instances > s.shape[0]:
        raise ValueError(f"n_instances={n_instances} exceeds the number of scores ({s.shape[0]}).")
    return np.argsort(-s, kind="stable")[:n_instances].astype(np.int64)


def _torch_device(device) -> torch.device:
    """``device`` (None, str or torch.device) as a usable torch.device; None is the CPU."""
    if device is None:
        return torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise ValueError(f"device must be None, a str or a torch.device; got {device!r}.")
    try:
        dev = torch.device(device)
        torch.zeros(1, dtype=torch.float64, device=dev).cpu()  # float64 there and back
    except (RuntimeError, AssertionError, ValueError, TypeError, NotImplementedError) as exc:
        raise ValueError(f"device={device!r} is not a usable torch device: {exc}") from exc
    return dev


def _joint_entropies(
    p_joint: np.ndarray,
    p_flat: np.ndarray | torch.Tensor,
    n_classes: int,
    weights: np.ndarray | None,
    device: torch.device | None = None,
) -> np.ndarray:
    """Joint entropy of (selected set, candidate) for every candidate.

    ``p_joint`` has shape (n_draws, n_configs): per-draw probability of each
    configuration of the selected labels. ``p_flat`` is (n_draws, n_cand * K).
    If ``weights`` is None the configurations are enumerated exactly; otherwise
    they are MC samples from the selected set's predictive and ``weights`` holds
    their predictive probabilities ``mean_d p_joint[d, m]`` (importance weights).
    Computed with torch in float64 on ``device`` (None: the CPU).
    """
    dev = torch.device("cpu") if device is None else device
    n_draws, n_configs = p_joint.shape
    # Configurations with equal per-draw probabilities (repeated MC samples, mostly) add
    # equal terms: keep one of each and weight it by its count.
    uniq, first, counts = np.unique(p_joint, axis=1, return_index=True, return_counts=True)
    scale = counts.astype(np.float64)
    if weights is not None:
        scale /= n_configs * weights[first]
    a_t = torch.as_tensor(uniq / n_draws, device=dev)  # (n_draws, n_uniq)
    scale_t = torch.as_tensor(scale, device=dev)
    n_uniq = uniq.shape[1]
    # (n_cand * K, n_draws): the joint of a chunk is then cols_t[rows] @ a_t, candidates by
    # row, which is faster than its transpose for the short inner dimension n_draws.
    cols_t = torch.as_tensor(p_flat, dtype=torch.float64, device=dev).T.contiguous()
    n_cand = cols_t.shape[0] // n_classes
    on_cpu = dev.type == "cpu"
    max_elements = _MAX_CHUNK_ELEMENTS if on_cpu else _MAX_CHUNK_ELEMENTS_DEVICE
    chunk = min(n_cand, max(1, max_elements // (n_uniq * n_classes)))
    joint_buf = torch.empty(chunk * n_classes * n_uniq, dtype=torch.float64, device=dev)
    log_buf = torch.empty_like(joint_buf) if on_cpu else None
    tiny = np.finfo(np.float64).tiny
    out = torch.empty(n_cand, dtype=torch.float64, device=dev)
    for start in range(0, n_cand, chunk):
        stop = min(start + chunk, n_cand)
        rows = (stop - start) * n_classes
        # joint[n*K + k, c] = mean_d p(y_n = k | w_d) * p_joint[d, c]
        joint = torch.mm(cols_t[start * n_classes : stop * n_classes], a_t,
                         out=joint_buf[: rows * n_uniq].view(rows, n_uniq))
        if on_cpu:
            # x log x with 0 log 0 = 0: torch's vectorised log beats its scalar xlogy. Raising
            # x < tiny to tiny changes x log x by less than 1e-304.
            joint.clamp_min_(tiny)
            joint.mul_(torch.log(joint, out=log_buf[: rows * n_uniq].view(rows, n_uniq)))
        else:
            joint.xlogy_(joint)
        out[start:stop] = -torch.mv(joint, scale_t).view(stop - start, n_classes).sum(dim=1)
    return out.cpu().numpy()


def batch_bald(
    probs: ArrayLike,
    n_instances: int,
    n_configurations: int = 10000,
    random_state=None,
    device=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy BatchBALD batch selection (Kirsch, van Amersfoort & Gal, 2019).

    Points are added one at a time, each maximising the joint mutual information
    ``I(y_1, ..., y_k; w) = H(y_1, ..., y_k) - sum_i E_w H(y_i | w)`` of the batch
    with the weights, where the MC draws act as posterior samples. The joint
    entropy is computed by exact enumeration of the ``n_classes ** k`` label
    configurations of the selected set while that number is at most
    ``n_configurations``; beyond it, ``n_configurations`` configurations are
    sampled from the selected set's predictive distribution at each step and the
    joint entropy is estimated by importance weighting, as in the paper.
    The joint entropies are computed with torch in float64 on ``device``.

    Parameters
    ----------
    probs : array-like of shape (n_draws, n_samples, n_classes)
        Class probabilities for each posterior draw.
    n_instances : int
        Batch size, ``1 <= n_instances <= n_samples``.
    n_configurations : int, default=10000
        Maximum number of exactly enumerated configurations, and the number of
        Monte-Carlo configurations once that is exceeded.
    random_state : int, RandomState, Generator or None, default=None
        Seed for the Monte-Carlo configuration sampling (unused when exact).
    device : str, torch.device or None, default=None
        Torch device of the joint-entropy computation, e.g. ``"cuda"``; None is the
        CPU. The results do not depend on it beyond floating-point round-off.

    Returns
    -------
    indices : ndarray of shape (n_instances,), dtype int64
        Selected pool indices in the order chosen; never repeated.
    scores : ndarray of shape (n_instances,)
        ``scores[k]`` is the (estimated) joint mutual information
        ``I(y_1, ..., y_{k+1}; w)`` of the first ``k + 1`` selected points;
        ``scores[0]`` is the BALD score of the first pick. The conditional gain of
        each step is ``np.diff(scores, prepend=0)``.

    Raises
    ------
    ValueError
        If an argument is invalid, e.g. ``device`` is not a usable torch device.
    """
    p = _check_probs(probs)
    n_draws, n_samples, n_classes = p.shape
    n_instances = _check_positive_int(n_instances, "n_instances")
    n_configurations = _check_positive_int(n_configurations, "n_configurations")
    if n_instances > n_samples:
        raise ValueError(
            f"n_instances={n_instances} exceeds the number of pool samples ({n_samples})."
        )
    dev = _torch_device(device)
    rng = _rng(random_state)

    cond_ent = _entropy(p).mean(axis=0)  # E_w H(y_i | w), per point
    p_flat = torch.as_tensor(p.reshape(n_draws, n_samples * n_classes), device=dev)

    # First pick: plain BALD (the joint over the empty set is a single configuration).
    first_scores = bald(p)
    first = int(np.argmax(first_scores))
    selected = [first]
    scores = [float(first_scores[first])]
    available = np.ones(n_samples, dtype=bool)
    available[first] = False
    cond_sum = cond_ent[first]
    # Exact per-draw joint probabilities of the selected labels' configurations.
    p_joint = p[:, first, :].copy() if n_classes <= n_configurations else None

    for _ in range(1, n_instances):
        if p_joint is not None:
            h = _joint_entropies(p_joint, p_flat, n_classes, None, dev)
        else:
            samples = _sample_joint(p, selected, n_configurations, rng)
            weights = np.maximum(samples.mean(axis=0), np.finfo(np.float64).tiny)
            h = _joint_entropies(samples, p_flat, n_classes, weights, dev)
        # Joint MI of (selected + candidate); maximising it maximises the conditional gain.
        joint_mi = h - cond_sum - cond_ent
        joint_mi[~available] = -np.inf
        best = int(np.argmax(joint_mi))
        selected.append(best)
        scores.append(float(joint_mi[best]))
        available[best] = False
        cond_sum += cond_ent[best]
        if p_joint is not None:
            if p_joint.shape[1] * n_classes <= n_configurations:
                p_joint = (p_joint[:, :, None] * p[:, best, None, :]).reshape(n_draws, -1)
            else:
                p_joint = None

    return np.asarray(selected, dtype=np.int64), np.asarray(scores, dtype=np.float64)


def _sample_joint(p: np.ndarray, selected: list[int], n_configurations: int, rng) -> np.ndarray:
    """Sample label configurations of ``selected`` and return per-draw probabilities.

    Each configuration is drawn by picking a posterior draw uniformly and then
    sampling every selected label from that draw's class probabilities, i.e.
    from the joint predictive ``mean_d prod_i p(y_i | w_d)``. Returns the
    (n_draws, n_configurations) matrix ``prod_i p(y_i^m | w_d)``.
    """
    n_draws, _, n_classes = p.shape
    draw_idx = _integers(rng, n_draws, n_configurations)
    out = np.ones((n_draws, n_configurations))
    for i in selected:
        cdf = np.cumsum(p[draw_idx, i, :], axis=1)
        u = _uniform(rng, n_configurations)
        labels = np.minimum((u[:, None] * cdf[:, -1:] >= cdf).sum(axis=1), n_classes - 1)
        out *= p[:, i, labels]
    return out

"""Tests for skdgm.acquisition (Gordon 2017, eqs. 2.2-2.4 / 3.10-3.13; BatchBALD)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skdgm.acquisition import (
    _entropy,
    _joint_entropies,
    _sample_joint,
    bald,
    batch_bald,
    predictive_entropy,
    random_scores,
    select_top_k,
    variation_ratios,
)

LN2 = math.log(2.0)
FUNCS = [predictive_entropy, variation_ratios, bald]


# ----------------------------------------------------------------------------- helpers


def _softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@st.composite
def prob_tensors(draw, min_classes=1, max_draws=6, max_samples=6, max_classes=5):
    """Random (n_draws, n_samples, n_classes) probability tensors from softmaxed logits."""
    n_draws = draw(st.integers(1, max_draws))
    n_samples = draw(st.integers(1, max_samples))
    n_classes = draw(st.integers(min_classes, max_classes))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([0.0, 0.1, 1.0, 5.0, 50.0]))
    rng = np.random.default_rng(seed)
    logits = scale * rng.standard_normal((n_draws, n_samples, n_classes))
    return _softmax(logits)


def _one_hot_pool(labels, n_classes):
    """(n_draws, n_samples) integer labels -> one-hot probability tensor."""
    return np.eye(n_classes)[np.asarray(labels)]


# Pool used by several hand-computed tests (4 draws, 2 classes):
#   A = draws [1,0],[0,1],[1,0],[0,1]  -> BALD = ln 2 (maximal for K = 2)
#   B = draws [1,0],[1,0],[0,1],[0,1]  -> BALD = ln 2, but independent of A given no w
# Pool [A, A, B]: index 1 is an exact duplicate of index 0.
_A = [0, 1, 0, 1]
_B = [0, 0, 1, 1]
POOL_AAB = _one_hot_pool(np.stack([_A, _A, _B], axis=1), 2)  # (4, 3, 2)


# ------------------------------------------------------------------ hand-computed values


def test_entropy_helper_handles_zeros():
    # H([0.75, 0.25]) = -(0.75 ln 0.75 + 0.25 ln 0.25); H([1, 0]) = 0 exactly (0 log 0 = 0).
    p = np.array([[0.75, 0.25], [1.0, 0.0]])
    expected = [-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)), 0.0]
    np.testing.assert_allclose(_entropy(p), expected, rtol=1e-12, atol=0)


def test_soft_and_one_hot_draws():
    # Draws [0.5, 0.5] and [1, 0]: mean p_hat = [0.75, 0.25].
    probs = np.array([[[0.5, 0.5]], [[1.0, 0.0]]])
    h_mean = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))  # ~0.5623
    # E_w H[p(y|w)] = (ln 2 + 0) / 2
    expected_bald = h_mean - LN2 / 2  # ~0.2158
    np.testing.assert_allclose(predictive_entropy(probs), [h_mean], rtol=1e-12)
    np.testing.assert_allclose(variation_ratios(probs), [1 - 0.75], rtol=1e-12)
    np.testing.assert_allclose(bald(probs), [expected_bald], rtol=1e-12)


def test_disagreeing_one_hot_draws_have_maximal_bald():
    # Draws [1, 0] and [0, 1]: p_hat = [0.5, 0.5] -> H = ln 2; each draw has H = 0 -> BALD = ln 2.
    probs = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    np.testing.assert_allclose(predictive_entropy(probs), [LN2], rtol=1e-12)
    np.testing.assert_allclose(variation_ratios(probs), [0.5], rtol=1e-12)
    np.testing.assert_allclose(bald(probs), [LN2], rtol=1e-12)


def test_uniform_single_draw_three_classes():
    # One draw, uniform over 3 classes: H = ln 3, VR = 1 - 1/3, BALD = ln 3 - ln 3 = 0.
    probs = np.full((1, 1, 3), 1 / 3)
    np.testing.assert_allclose(predictive_entropy(probs), [math.log(3)], rtol=1e-12)
    np.testing.assert_allclose(variation_ratios(probs), [2 / 3], rtol=1e-12)
    np.testing.assert_allclose(bald(probs), [0.0], atol=1e-15)


def test_multiple_samples_hand_values():
    # Sample 0: draws [0.9, 0.1], [0.7, 0.3] -> p_hat = [0.8, 0.2].
    # Sample 1: draws [0.2, 0.8], [0.2, 0.8] -> p_hat = [0.2, 0.8], BALD = 0.
    probs = np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.7, 0.3], [0.2, 0.8]]])

    def h(*p):
        return -sum(q * math.log(q) for q in p)

    pe = [h(0.8, 0.2), h(0.2, 0.8)]
    mi0 = h(0.8, 0.2) - (h(0.9, 0.1) + h(0.7, 0.3)) / 2
    np.testing.assert_allclose(predictive_entropy(probs), pe, rtol=1e-12)
    np.testing.assert_allclose(variation_ratios(probs), [0.2, 0.2], rtol=1e-12)
    np.testing.assert_allclose(bald(probs), [mi0, 0.0], rtol=1e-12, atol=1e-15)


def test_accepts_lists_and_float32_and_returns_float64():
    probs = [[[0.5, 0.5]], [[1.0, 0.0]]]
    for func in FUNCS:
        out = func(probs)
        assert out.dtype == np.float64 and out.shape == (1,)
        out32 = func(np.asarray(probs, dtype=np.float32))
        np.testing.assert_allclose(out32, out, rtol=1e-6)


def test_select_top_k_hand():
    # Descending order, the tie between indices 1 and 2 goes to the lower index first.
    scores = [0.1, 0.5, 0.5, 0.2]
    np.testing.assert_array_equal(select_top_k(scores, 3), [1, 2, 3])
    np.testing.assert_array_equal(select_top_k(scores, 1), [1])
    np.testing.assert_array_equal(select_top_k([0.0, 0.0, 0.0], 3), [0, 1, 2])
    assert select_top_k(scores, 4).dtype == np.int64


def test_random_scores():
    s = random_scores(50, random_state=0)
    assert s.shape == (50,) and s.dtype == np.float64
    assert np.all((s >= 0) & (s < 1))
    np.testing.assert_array_equal(s, random_scores(50, random_state=0))
    assert not np.array_equal(s, random_scores(50, random_state=1))
    g = random_scores(5, random_state=np.random.default_rng(0))
    assert g.shape == (5,)
    assert random_scores(0).shape == (0,)
    with pytest.raises(ValueError, match="n_samples"):
        random_scores(-1)


# -------------------------------------------------------------------- hypothesis properties


@settings(max_examples=60, deadline=None)
@given(prob_tensors())
def test_bounds(probs):
    n_classes = probs.shape[-1]
    pe = predictive_entropy(probs)
    mi = bald(probs)
    vr = variation_ratios(probs)
    for out in (pe, mi, vr):
        assert out.shape == (probs.shape[1],) and out.dtype == np.float64
        assert np.all(np.isfinite(out))
    assert np.all(mi >= 0)
    assert np.all(mi <= pe + 1e-12)
    assert np.all(pe <= math.log(n_classes) + 1e-9)
    assert np.all(vr >= 0)
    assert np.all(vr <= 1 - 1 / n_classes + 1e-12)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 5),
    st.lists(st.integers(0, 4), min_size=1, max_size=6),
)
def test_identical_one_hot_draws_give_zero(n_draws, labels):
    probs = np.repeat(_one_hot_pool(labels, 5)[None], n_draws, axis=0)
    for func in FUNCS:
        out = func(probs)
        assert not np.any(np.isnan(out))
        np.testing.assert_array_equal(out, np.zeros(len(labels)))


@settings(max_examples=40, deadline=None)
@given(prob_tensors(), st.integers(1, 6))
def test_identical_draws_give_zero_bald(probs, n_draws):
    same = np.repeat(probs[:1], n_draws, axis=0)
    np.testing.assert_allclose(bald(same), 0.0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(prob_tensors(), st.integers(0, 2**32 - 1))
def test_permutation_invariance(probs, seed):
    rng = np.random.default_rng(seed)
    by_draw = probs[rng.permutation(probs.shape[0])]
    by_class = probs[..., rng.permutation(probs.shape[2])]
    for func in FUNCS:
        ref = func(probs)
        np.testing.assert_allclose(func(by_draw), ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(func(by_class), ref, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------- input validation


@pytest.mark.parametrize("func", FUNCS + [lambda p: batch_bald(p, 1)])
@pytest.mark.parametrize(
    ("probs", "match"),
    [
        (np.array([[0.5, 0.5]]), "3-d"),
        (np.full((1, 1, 1, 2), 0.5), "3-d"),
        (np.array([[[1.5, -0.5]]]), "non-negative"),
        (np.array([[[np.nan, 1.0]]]), "NaN"),
        (np.array([[[np.inf, 0.0]]]), "infinite"),
        (np.array([[[0.5, 0.4]]]), "sum to 1"),
        (np.array([[[0.6, 0.6]]]), "sum to 1"),
        (np.zeros((0, 1, 2)), "at least one draw"),
        ([["a", "b"]], "numeric"),
    ],
)
def test_invalid_probs(func, probs, match):
    with pytest.raises(ValueError, match=match):
        func(probs)


def test_sum_tolerance_accepts_small_error():
    probs = np.array([[[0.5, 0.5 + 5e-5]]])
    for func in FUNCS:
        assert np.all(np.isfinite(func(probs)))


@pytest.mark.parametrize(
    ("scores", "k", "match"),
    [
        ([0.1, 0.2], 0, ">= 1"),
        ([0.1, 0.2], 3, "exceeds"),
        ([0.1, 0.2], 1.5, "integer"),
        ([[0.1, 0.2]], 1, "1-d"),
        ([0.1, np.nan], 1, "NaN"),
    ],
)
def test_select_top_k_invalid(scores, k, match):
    with pytest.raises(ValueError, match=match):
        select_top_k(scores, k)


def test_batch_bald_invalid_arguments():
    with pytest.raises(ValueError, match="exceeds"):
        batch_bald(POOL_AAB, 4)
    with pytest.raises(ValueError, match=">= 1"):
        batch_bald(POOL_AAB, 0)
    with pytest.raises(ValueError, match="n_configurations"):
        batch_bald(POOL_AAB, 1, n_configurations=0)


# ------------------------------------------------------------------------------- BatchBALD


def test_batch_bald_avoids_exact_duplicate_hand():
    # Pool [A, A, B]: all three have BALD = ln 2, so top-k BALD takes [0, 1] (the duplicate).
    # Given y_A, the duplicate adds nothing: I(y_A, y_A'; w) = H(y_A) - 0 = ln 2.
    # (y_A, y_B) is uniform over 4 configurations (one per draw), each draw one-hot:
    # I(y_A, y_B; w) = ln 4 - 0 = 2 ln 2.  So BatchBALD picks [0, 2].
    np.testing.assert_allclose(bald(POOL_AAB), [LN2, LN2, LN2], rtol=1e-12)
    np.testing.assert_array_equal(select_top_k(bald(POOL_AAB), 2), [0, 1])
    idx, scores = batch_bald(POOL_AAB, 2)
    np.testing.assert_array_equal(idx, [0, 2])
    np.testing.assert_allclose(scores, [LN2, 2 * LN2], rtol=1e-12)
    # Third pick must be the duplicate (only one left); joint MI stays at 2 ln 2.
    idx, scores = batch_bald(POOL_AAB, 3)
    np.testing.assert_array_equal(idx, [0, 2, 1])
    np.testing.assert_allclose(scores, [LN2, 2 * LN2, 2 * LN2], rtol=1e-12)


def test_batch_bald_mc_branch_hand():
    # n_configurations=1 < K=2 forces Monte-Carlo from the second pick on. Whichever
    # configuration of y_A is sampled, the importance-weighted estimate is exact here:
    # H(y_A, y_A') -> ln 2 and H(y_A, y_B) -> ln 4.
    for seed in range(5):
        idx, scores = batch_bald(POOL_AAB, 2, n_configurations=1, random_state=seed)
        np.testing.assert_array_equal(idx, [0, 2])
        np.testing.assert_allclose(scores, [LN2, 2 * LN2], rtol=1e-12)


def test_batch_bald_avoids_duplicates_random_pool():
    # Random pool with sharp per-draw predictions plus 3 exact copies of its best BALD point.
    rng = np.random.default_rng(0)
    base = rng.dirichlet(np.full(3, 0.3), size=(20, 30))  # (draws, samples, classes)
    best = int(np.argmax(bald(base)))
    probs = np.concatenate([base, np.repeat(base[:, best : best + 1], 3, axis=1)], axis=1)
    copies = {best, 30, 31, 32}
    top = select_top_k(bald(probs), 2)
    assert top[0] == best and int(top[1]) in copies
    for n_conf in (10000, 2):  # exact, then Monte-Carlo from the second pick
        idx, _ = batch_bald(probs, 4, n_configurations=n_conf, random_state=0)
        assert idx[0] == best
        assert len(set(idx.tolist()) & copies) == 1


@settings(max_examples=40, deadline=None)
@given(prob_tensors(min_classes=2), st.data())
def test_batch_bald_properties(probs, data):
    n_samples = probs.shape[1]
    k = data.draw(st.integers(1, n_samples))
    mi = bald(probs)
    idx, scores = batch_bald(probs, k)
    assert idx.shape == (k,) and scores.shape == (k,)
    assert idx.dtype == np.int64 and scores.dtype == np.float64
    assert len(set(idx.tolist())) == k
    assert np.all((idx >= 0) & (idx < n_samples))
    # First pick is the BALD argmax; with k = 1 BatchBALD is top-1 BALD.
    assert idx[0] == int(np.argmax(mi))
    assert scores[0] == pytest.approx(mi[idx[0]], abs=1e-12)
    np.testing.assert_array_equal(batch_bald(probs, 1)[0], select_top_k(mi, 1))
    # Joint MI is non-decreasing (chain rule) and bounded by the sum of the BALD scores
    # (labels are conditionally independent given w).
    assert np.all(np.diff(scores) >= -1e-9)
    assert scores[-1] <= mi[idx].sum() + 1e-9
    assert np.all(scores >= -1e-9)


@settings(max_examples=25, deadline=None)
@given(prob_tensors(min_classes=2), st.data())
def test_batch_bald_mc_branch_properties(probs, data):
    n_samples, n_classes = probs.shape[1:]
    k = data.draw(st.integers(1, n_samples))
    n_conf = data.draw(st.integers(1, n_classes))
    exact_idx, _ = batch_bald(probs, k)
    idx, scores = batch_bald(probs, k, n_configurations=n_conf, random_state=0)
    assert len(set(idx.tolist())) == k
    assert idx[0] == exact_idx[0]
    assert np.all(np.isfinite(scores))


def test_batch_bald_reproducible_with_seed():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=(10, 15))
    a = batch_bald(probs, 5, n_configurations=8, random_state=1)
    b = batch_bald(probs, 5, n_configurations=8, random_state=1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_mc_joint_entropy_estimate_matches_exact():
    # The importance-weighted MC joint entropy converges to the exact enumeration.
    rng = np.random.default_rng(1)
    n_draws, n_samples, n_classes = 8, 5, 3
    probs = rng.dirichlet(np.ones(n_classes), size=(n_draws, n_samples))
    p_flat = probs.reshape(n_draws, -1)
    selected = [0, 1]
    exact_joint = (probs[:, 0, :, None] * probs[:, 1, None, :]).reshape(n_draws, -1)
    exact = _joint_entropies(exact_joint, p_flat, n_classes, None)
    samples = _sample_joint(probs, selected, 20000, np.random.default_rng(0))
    est = _joint_entropies(samples, p_flat, n_classes, samples.mean(axis=0))
    np.testing.assert_allclose(est, exact, rtol=0.02)


def test_batch_bald_large_pool_is_fast_and_exact_first_steps():
    # Vectorised over candidates: a pool of 2000 points x 10 classes is quick.
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.full(10, 0.5), size=(20, 2000))
    idx, scores = batch_bald(probs, 5, n_configurations=1000, random_state=0)
    assert len(set(idx.tolist())) == 5
    assert idx[0] == int(np.argmax(bald(probs)))
    assert np.all(np.isfinite(scores))


# ------------------------------------------------------- torch joint entropies vs loops


def _slow_joint_entropies(p_joint, p_flat, n_classes, weights):
    """Reference: explicit loops over candidates, configurations and classes."""
    n_draws, n_configs = p_joint.shape
    n_cand = p_flat.shape[1] // n_classes
    out = np.zeros(n_cand)
    for n in range(n_cand):
        for c in range(n_configs):
            for k in range(n_classes):
                joint = sum(p_joint[d, c] * p_flat[d, n * n_classes + k]
                            for d in range(n_draws)) / n_draws
                term = joint * math.log(joint) if joint > 0 else 0.0
                out[n] -= term if weights is None else term / (weights[c] * n_configs)
    return out


def _small_pool_with_zeros():
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(3), size=(4, 6))
    probs[:, 1] = np.eye(3)[[0, 0, 2, 2]]  # one-hot: joint probabilities of exactly 0
    probs[:, 4] = probs[:, 2]  # a duplicate candidate
    return probs


def test_joint_entropies_exact_match_loops():
    probs = _small_pool_with_zeros()
    n_draws, _, n_classes = probs.shape
    p_flat = probs.reshape(n_draws, -1)
    p_joint = (probs[:, 0, :, None] * probs[:, 1, None, :]).reshape(n_draws, -1)
    assert np.any(p_joint == 0)
    expected = _slow_joint_entropies(p_joint, p_flat, n_classes, None)
    np.testing.assert_allclose(_joint_entropies(p_joint, p_flat, n_classes, None), expected,
                               rtol=1e-12, atol=1e-12)


def test_joint_entropies_mc_match_loops():
    probs = _small_pool_with_zeros()
    n_draws, _, n_classes = probs.shape
    p_flat = probs.reshape(n_draws, -1)
    # 60 samples of 27 configurations: repeated configurations are certain.
    samples = _sample_joint(probs, [0, 1, 3], 60, np.random.default_rng(0))
    assert np.unique(samples, axis=1).shape[1] < 60
    weights = np.maximum(samples.mean(axis=0), np.finfo(np.float64).tiny)
    expected = _slow_joint_entropies(samples, p_flat, n_classes, weights)
    np.testing.assert_allclose(_joint_entropies(samples, p_flat, n_classes, weights),
                               expected, rtol=1e-12, atol=1e-12)


def _slow_batch_bald(probs, n_instances, n_configurations, rng):
    """Greedy BatchBALD written out with the loop entropies and the same configuration
    sampling (so the same random state must give the same picks)."""
    n_draws, n_samples, n_classes = probs.shape
    p_flat = probs.reshape(n_draws, -1)
    cond_ent = _entropy(probs).mean(axis=0)
    mi = bald(probs)
    selected, scores = [int(np.argmax(mi))], [mi.max()]
    for _ in range(1, n_instances):
        if n_classes ** len(selected) <= n_configurations:
            p_joint = np.ones((n_draws, 1))
            for i in selected:
                p_joint = (p_joint[:, :, None] * probs[:, i, None, :]).reshape(n_draws, -1)
            h = _slow_joint_entropies(p_joint, p_flat, n_classes, None)
        else:
            samples = _sample_joint(probs, selected, n_configurations, rng)
            weights = np.maximum(samples.mean(axis=0), np.finfo(np.float64).tiny)
            h = _slow_joint_entropies(samples, p_flat, n_classes, weights)
        gain = h - cond_ent[selected].sum() - cond_ent
        gain[selected] = -np.inf
        selected.append(int(np.argmax(gain)))
        scores.append(gain[selected[-1]])
    return selected, scores


@pytest.mark.parametrize("n_configurations", [10000, 9, 2])  # exact; exact then MC; MC
def test_batch_bald_matches_loop_reference(n_configurations):
    probs = np.random.default_rng(7).dirichlet(np.full(3, 0.7), size=(5, 7))
    idx, scores = batch_bald(probs, 5, n_configurations=n_configurations, random_state=3)
    ref_idx, ref_scores = _slow_batch_bald(probs, 5, n_configurations,
                                           np.random.RandomState(3))
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-10, atol=1e-12)


def test_batch_bald_device_cpu_equals_default():
    probs = np.random.default_rng(8).dirichlet(np.ones(4), size=(6, 40))
    default = batch_bald(probs, 6, n_configurations=20, random_state=0)
    for device in ("cpu", torch.device("cpu")):
        idx, scores = batch_bald(probs, 6, n_configurations=20, random_state=0, device=device)
        np.testing.assert_array_equal(idx, default[0])
        np.testing.assert_array_equal(scores, default[1])


@pytest.mark.parametrize("device", ["gpu", "cuda:x", 0, torch.device("meta")]
                         + ([] if torch.cuda.is_available() else ["cuda"]))
def test_batch_bald_invalid_device(device):
    with pytest.raises(ValueError, match="device"):
        batch_bald(POOL_AAB, 2, device=device)

"""``n_init``: several fits from different seeds, the one with the lowest mean predictive
entropy on the unlabeled rows kept (or, with ``init_selection="consensus"``, the medoid)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skdgm import M2Classifier, SDGMClassifier, SSLAPDClassifier, SSLPEClassifier
from skdgm.base import _agreement, _consensus_choice, restart_seeds
from skdgm.datasets import make_ssl_moons

TINY = dict(hidden_sizes=(16,), n_latent=2, max_epochs=3, kl_warmup=0, lr=1e-2, n_gibbs=3)


@pytest.fixture(scope="module")
def moons():
    X, y, _ = make_ssl_moons(n_samples=200, noise=0.2, random_state=0)
    return X, y


def mean_entropy(proba: np.ndarray) -> float:
    """Mean row entropy in nats, written out independently of the package."""
    p = np.clip(proba, 1e-300, 1.0)
    return float(np.mean([-sum(pi * np.log(pi) for pi in row) for row in p]))


@pytest.mark.parametrize("cls", [SSLPEClassifier, SSLAPDClassifier, M2Classifier,
                                 SDGMClassifier])
def test_keeps_the_fit_with_the_lowest_unlabeled_entropy(cls, moons):
    X, y = moons
    params = {k: v for k, v in TINY.items() if k in cls().get_params()}
    multi = cls(**params, n_init=3, random_state=0).fit(X, y)
    assert multi.init_entropies_.shape == (3,)
    unlabeled = X[y == -1]
    # the kept fit is the argmin, and its entropy is the one recorded for it
    assert mean_entropy(multi.predict_proba(unlabeled)) == pytest.approx(
        multi.init_entropies_.min(), rel=1e-9)
    # the first candidate is the fit n_init=1 makes (same seed, same training)
    single = cls(**params, random_state=0).fit(X, y)
    assert single.init_entropies_ is None
    assert mean_entropy(single.predict_proba(unlabeled)) == pytest.approx(
        multi.init_entropies_[0], rel=1e-9)
    if np.argmin(multi.init_entropies_) == 0:
        assert multi.seed_ == single.seed_
        np.testing.assert_array_equal(multi.predict_proba(X), single.predict_proba(X))
    else:
        assert multi.seed_ != single.seed_


def test_a_single_fit_from_an_advanced_random_state_repeats_each_restart(moons):
    """Restart k of ``n_init`` is the single fit whose ``random_state`` skipped k seed draws
    (what ``benchmarks.collapse --candidates`` relies on): the entropies of the k single fits
    are ``init_entropies_``, and the lowest one is the kept fit, with its predictions."""
    X, y = moons
    multi = SSLPEClassifier(**TINY, n_init=3, random_state=4).fit(X, y)
    singles = []
    for k in range(3):
        rng = np.random.RandomState(4)
        skipped = restart_seeds(rng, k)
        assert len(skipped) == k
        singles.append(SSLPEClassifier(**TINY, random_state=rng).fit(X, y))
    unlabeled = X[y == -1]
    entropies = [mean_entropy(c.predict_proba(unlabeled)) for c in singles]
    np.testing.assert_allclose(entropies, multi.init_entropies_, rtol=1e-9)
    assert len({c.seed_ for c in singles}) == 3
    kept = singles[int(np.argmin(entropies))]
    assert kept.seed_ == multi.seed_
    np.testing.assert_array_equal(kept.predict_proba(X), multi.predict_proba(X))


def test_candidates_differ_and_repeat_with_random_state(moons):
    X, y = moons
    a = SSLPEClassifier(**TINY, n_init=3, random_state=1).fit(X, y)
    b = SSLPEClassifier(**TINY, n_init=3, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.init_entropies_, b.init_entropies_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert len(set(a.init_entropies_.tolist())) == 3       # three different fits


def test_all_rows_rank_the_fits_when_none_is_unlabeled(moons):
    X, y = moons
    y_full = np.where(y == -1, (X[:, 1] < 0.25).astype(int), y)  # any labels will do
    clf = SSLPEClassifier(**TINY, n_init=2, random_state=0).fit(X, y_full)
    assert mean_entropy(clf.predict_proba(X)) == pytest.approx(clf.init_entropies_.min(),
                                                               rel=1e-9)


def test_warm_start_refit_ignores_n_init(moons):
    X, y = moons
    clf = SSLPEClassifier(**TINY, n_init=2, warm_start=True, random_state=0).fit(X, y)
    seed, entropies = clf.seed_, clf.init_entropies_.copy()
    clf.fit(X, y)
    assert clf.seed_ == seed and clf.n_iter_ == 2 * TINY["max_epochs"]
    np.testing.assert_array_equal(clf.init_entropies_, entropies)   # left as they were


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3"])
def test_invalid_n_init_is_rejected(bad, moons):
    X, y = moons
    with pytest.raises(ValueError, match="n_init"):
        SSLPEClassifier(**TINY, n_init=bad).fit(X, y)


def test_n_init_is_a_parameter(moons):
    clf = SSLAPDClassifier(n_init=4)
    assert clf.get_params()["n_init"] == 4 and clone(clf).n_init == 4
    assert SDGMClassifier(n_init=2).set_params(n_init=5).n_init == 5


# -- init_selection="consensus": the medoid of the fits' unlabeled-row predictions -----------

def agreement_by_loops(labels: np.ndarray) -> np.ndarray:
    n = len(labels)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = sum(a == b for a, b in zip(labels[i], labels[j])) / labels.shape[1]
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 6), st.integers(1, 30), st.integers(2, 4), st.integers(0, 2**31 - 1))
def test_agreement_matches_explicit_loops(n_fits, n_rows, n_classes, seed):
    labels = np.random.default_rng(seed).integers(0, n_classes, size=(n_fits, n_rows))
    a = _agreement(labels)
    np.testing.assert_allclose(a, agreement_by_loops(labels))
    np.testing.assert_array_equal(a, a.T)
    np.testing.assert_array_equal(np.diag(a), 1.0)


def test_consensus_choice_is_the_medoid_and_breaks_ties_by_entropy():
    good = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    collapsed = np.array([1, 0, 0, 1, 1, 1, 0, 0])
    nearly_good = good.copy()
    nearly_good[:2] = 1   # one row towards the collapsed fit, one away: a tie
    labels = np.stack([collapsed, good, nearly_good])
    # the collapsed fit has the lowest entropy, yet the two fits that agree win
    entropies = np.array([0.01, 0.3, 0.2])
    choice = _consensus_choice(_agreement(labels), entropies)
    # good and nearly_good tie on mean agreement with the others; the lower entropy decides
    a = agreement_by_loops(labels)
    mean_other = [(a[i].sum() - 1) / 2 for i in range(3)]
    assert mean_other[1] == mean_other[2] > mean_other[0]
    assert choice == 2
    assert _consensus_choice(_agreement(labels), np.array([0.01, 0.2, 0.3])) == 1


@pytest.mark.parametrize("cls", [SSLPEClassifier, SDGMClassifier])
def test_consensus_keeps_the_medoid_fit(cls, moons):
    X, y = moons
    params = {k: v for k, v in TINY.items() if k in cls().get_params()}
    # random_state=2: here the medoid is not the lowest-entropy fit, so the rules differ
    clf = cls(**params, n_init=3, init_selection="consensus", random_state=2).fit(X, y)
    by_entropy = cls(**params, n_init=3, random_state=2).fit(X, y)
    # the same three candidates as the entropy rule (same seeds, same training)
    np.testing.assert_array_equal(clf.init_entropies_, by_entropy.init_entropies_)
    assert by_entropy.init_agreement_ is None
    a = clf.init_agreement_
    assert a.shape == (3, 3)
    np.testing.assert_array_equal(a, a.T)
    np.testing.assert_array_equal(np.diag(a), 1.0)
    # the kept fit is the rule's choice on the recorded matrix: its entropy is that candidate's
    pick = _consensus_choice(a, clf.init_entropies_)
    assert pick != np.argmin(clf.init_entropies_)
    assert mean_entropy(clf.predict_proba(X[y == -1])) == pytest.approx(
        clf.init_entropies_[pick], rel=1e-9)
    assert clf.seed_ != by_entropy.seed_


def test_consensus_with_two_fits_falls_back_to_entropy(moons):
    X, y = moons
    a = SSLPEClassifier(**TINY, n_init=2, init_selection="consensus", random_state=0).fit(X, y)
    b = SSLPEClassifier(**TINY, n_init=2, random_state=0).fit(X, y)
    assert a.init_agreement_ is None and a.seed_ == b.seed_
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_invalid_init_selection_is_rejected(moons):
    X, y = moons
    with pytest.raises(ValueError, match="init_selection"):
        SSLPEClassifier(**TINY, n_init=3, init_selection="bound").fit(X, y)
    clf = M2Classifier(init_selection="consensus")
    assert clone(clf).init_selection == "consensus"

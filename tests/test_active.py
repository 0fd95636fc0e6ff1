"""Tests for skdgm.active: modAL query strategies and the semi-supervised active learner."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from skdgm import SSLAPDClassifier, SSLPEClassifier
from skdgm.acquisition import batch_bald
from skdgm.active import (
    SemiSupervisedActiveLearner,
    bald_sampling,
    batch_bald_sampling,
    entropy_sampling,
    random_sampling,
    variation_ratio_sampling,
)
from skdgm.datasets import make_ssl_moons

modal_models = pytest.importorskip("modAL.models")

STRATEGIES = [entropy_sampling, variation_ratio_sampling, bald_sampling, batch_bald_sampling,
              random_sampling]


def _tiny(cls=SSLAPDClassifier, **kwargs):
    return cls(hidden_sizes=(16,), max_epochs=2, n_draws=5, n_gibbs=3, random_state=0,
               **kwargs)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # tiny nets are bound by per-call overhead: one thread is faster (and kinder to a shared CPU)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def moons():
    X, y, y_true = make_ssl_moons(300, noise=0.1, labels="random", n_labeled=4, random_state=0)
    return X, y, y_true


@pytest.fixture(scope="module")
def fitted(moons):
    X, y, _ = moons
    return _tiny().fit(X, y)


class FakeSampler:
    """Deterministic stand-in with predict_proba_samples; records the n_draws it was asked for."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=float)
        self.calls = []

    def predict_proba_samples(self, X, n_draws=None):
        self.calls.append(n_draws)
        return self.probs[:, : len(X)]


# ----------------------------------------------------------------------------- strategies


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("n_instances", [1, 2])
def test_strategy_returns_indices_and_scores(fitted, moons, strategy, n_instances):
    X_pool = moons[0][:60]
    idx, scores = strategy(fitted, X_pool, n_instances=n_instances, random_state=0)
    assert idx.shape == (n_instances,) and scores.shape == (n_instances,)
    assert idx.dtype.kind in "iu"
    assert len(np.unique(idx)) == n_instances
    assert idx.min() >= 0 and idx.max() < len(X_pool)
    assert np.all(np.isfinite(scores))


@pytest.mark.parametrize("strategy", [entropy_sampling, variation_ratio_sampling, bald_sampling])
def test_top_k_ranking_and_n_draws(strategy):
    # point 2 is the most uncertain (and most disagreed-on) point, then point 0
    probs = np.array([[[0.8, 0.2], [0.99, 0.01], [0.5, 0.5], [0.9, 0.1]],
                      [[0.3, 0.7], [0.99, 0.01], [0.0, 1.0], [0.95, 0.05]]])
    est = FakeSampler(probs)
    idx, scores = strategy(est, np.zeros((4, 2)), n_instances=2, n_draws=7)
    assert est.calls == [7]  # Monte-Carlo samples drawn once per query
    assert set(idx.tolist()) == {0, 2}
    assert scores[0] >= scores[1]


def test_batch_bald_picks_no_duplicates():
    # points 0 and 1 are identical and split the four draws {0, 1} | {2, 3}; point 2 splits them
    # {0, 2} | {1, 3} a little less sharply.  Top-k BALD takes the redundant pair 0, 1; BatchBALD
    # takes 0 (or 1) and then 2, since the copy adds almost no information.
    a, b = [0.99, 0.01], [0.01, 0.99]
    c, d = [0.95, 0.05], [0.05, 0.95]
    u = [0.5, 0.5]
    probs = np.array([[a, a, c, u], [a, a, d, u], [b, b, c, u], [b, b, d, u]])
    X_pool = np.zeros((4, 2))
    top, _ = bald_sampling(FakeSampler(probs), X_pool, n_instances=2)
    assert set(top.tolist()) == {0, 1}
    idx, scores = batch_bald_sampling(FakeSampler(probs), X_pool, n_instances=3)
    assert len(set(idx.tolist())) == 3
    assert idx[1] == 2
    assert np.all(np.diff(scores) >= -1e-12)  # joint information never decreases


def test_batch_bald_sampling_runs_on_the_estimators_device(monkeypatch, fitted, moons):
    # The estimator's device reaches batch_bald, also through a modAL learner; an explicit
    # device wins; a device attribute that is not a str / torch.device is ignored.
    import skdgm.active as active

    seen = []

    def spy(probs, n_instances, **kwargs):
        seen.append(kwargs["device"])
        return batch_bald(probs, n_instances, **kwargs)

    monkeypatch.setattr(active, "batch_bald", spy)
    X_pool = moons[0][:30]
    probs = np.random.default_rng(0).dirichlet(np.ones(2), size=(4, 3))
    gpu_like = FakeSampler(probs)
    gpu_like.device = torch.device("cpu")
    odd = FakeSampler(probs)
    odd.device = 0
    batch_bald_sampling(fitted, X_pool, n_instances=2)
    learner = modal_models.ActiveLearner(estimator=fitted)  # no training data: no refit
    batch_bald_sampling(learner, X_pool, n_instances=2)
    batch_bald_sampling(gpu_like, X_pool[:3], n_instances=2)
    batch_bald_sampling(odd, X_pool[:3], n_instances=2)
    batch_bald_sampling(FakeSampler(probs), X_pool[:3], n_instances=2)
    batch_bald_sampling(fitted, X_pool, n_instances=2, device=torch.device("cpu"))
    assert seen == [fitted.device, fitted.device, torch.device("cpu"), None, None,
                    torch.device("cpu")]


def test_random_sampling_seeded_and_needs_no_model():
    X_pool = np.zeros((50, 2))
    a, _ = random_sampling(None, X_pool, n_instances=5, random_state=3)
    b, _ = random_sampling(None, X_pool, n_instances=5, random_state=3)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == 5


def test_strategies_with_plain_estimator(moons):
    X, _, y_true = moons
    lr = LogisticRegression().fit(X, y_true)
    idx, scores = entropy_sampling(lr, X[:30], n_instances=2)
    assert idx.shape == scores.shape == (2,)
    with pytest.raises(TypeError, match="predict_proba_samples"):
        bald_sampling(lr, X[:30])


def test_modal_active_learner_uses_strategy_once(moons):
    """A real modAL ActiveLearner: fit on the semi-supervised data, query with our strategy."""
    X, y, _ = moons
    calls = []

    def counted(classifier, X_pool, n_instances=1, **kwargs):
        calls.append(n_instances)
        return bald_sampling(classifier, X_pool, n_instances, **kwargs)

    learner = modal_models.ActiveLearner(estimator=_tiny(), query_strategy=counted,
                                         X_training=X, y_training=y)
    X_pool = X[y == -1]
    idx, X_query = learner.query(X_pool, n_instances=2)
    assert calls == [2]  # returning (idx, scores) avoids modAL's second call
    assert idx.shape == (2,) and len(np.unique(idx)) == 2
    np.testing.assert_array_equal(X_query, X_pool[idx])
    idx1, _, metrics = learner.query(X_pool, n_instances=1, return_metrics=True, n_draws=4)
    assert idx1.shape == metrics.shape == (1,)


# ----------------------------------------------------------------------------- the learner


def test_learner_loop_labels_in_place_and_never_requeries(moons):
    X, y, y_true = moons
    X0, y0 = X.copy(), y.copy()
    learner = SemiSupervisedActiveLearner(_tiny(), entropy_sampling, X, y)
    assert learner.X_training is not X and learner.y_training is not y
    y_store = learner.y_training
    assert learner.n_labeled_ == 4 and learner.n_unlabeled_ == 296
    seen = set(learner.labeled_indices_.tolist())
    for n in (1, 2, 1, 3):
        idx, X_query = learner.query(n)
        assert idx.shape == (n,)
        np.testing.assert_array_equal(X_query, X[idx])
        assert not seen & set(idx.tolist())  # never a labeled or previously queried row
        learner.teach(idx, y_true[idx])
        seen |= set(idx.tolist())
    assert learner.y_training is y_store  # filled in place
    assert learner.n_labeled_ == 4 + 7
    assert set(learner.labeled_indices_.tolist()) == seen
    np.testing.assert_array_equal(learner.y_training[learner.labeled_mask_],
                                  y_true[learner.labeled_mask_])
    assert len(learner.taught_indices_) == 7
    np.testing.assert_array_equal(X, X0)  # the caller's arrays are untouched
    np.testing.assert_array_equal(y, y0)
    assert 0.0 <= learner.score(X, y_true) <= 1.0
    assert learner.predict(X[:3]).shape == (3,)


def test_learner_batch_bald_and_metrics(moons):
    X, y, y_true = moons
    learner = SemiSupervisedActiveLearner(_tiny(), batch_bald_sampling, X, y)
    idx, _, scores = learner.query(4, return_metrics=True, random_state=0)
    assert len(np.unique(idx)) == 4 and scores.shape == (4,)
    assert not np.any(learner.labeled_mask_[idx])


def test_warm_start_continues_training(moons):
    X, y, y_true = moons
    est = _tiny(SSLPEClassifier)
    learner = SemiSupervisedActiveLearner(est, random_sampling, X, y, warm_start=True)
    assert est.n_iter_ == 2
    idx, _ = learner.query(1, random_state=0)
    learner.teach(idx, y_true[idx])
    assert est.n_iter_ == 4 and len(est.history_) == 4  # continued
    assert est.warm_start is False  # the estimator's own setting is restored

    cold = SemiSupervisedActiveLearner(_tiny(SSLPEClassifier), random_sampling, X, y)
    idx, _ = cold.query(1, random_state=0)
    cold.teach(idx, y_true[idx])
    assert cold.estimator.n_iter_ == 2  # refitted from scratch


def test_learner_fit_replaces_data_on_current_sklearn(moons):
    X, y, y_true = moons
    learner = SemiSupervisedActiveLearner(_tiny(), entropy_sampling)
    with pytest.raises(NotFittedError):
        learner.query(1)
    learner.fit(X, y)
    assert learner.X_training.shape == (300, 2) and learner.n_labeled_ == 4
    # modAL's own hook, which calls check_X_y(force_all_finite=...) upstream
    learner._add_training_data(X[:10], np.full(10, -1))
    assert learner.X_training.shape == (310, 2) and learner.n_labeled_ == 4
    learner.fit(X[:50], y_true[:50])  # fit replaces the data
    assert learner.n_labeled_ == 50 and learner.n_unlabeled_ == 0


def test_teach_and_query_validation(moons):
    X, y, y_true = moons
    learner = SemiSupervisedActiveLearner(_tiny(), entropy_sampling, X, y)
    labeled = learner.labeled_indices_[0]
    unl = learner.unlabeled_indices_[:2]
    with pytest.raises(ValueError, match="already labeled"):
        learner.teach([labeled], [y_true[labeled]])
    with pytest.raises(ValueError, match="repeated"):
        learner.teach([unl[0], unl[0]], [0, 0])
    with pytest.raises(ValueError, match="-1"):
        learner.teach(unl, [-1, 0])
    with pytest.raises(ValueError, match="one label per index"):
        learner.teach(unl, [0])
    with pytest.raises(IndexError):
        learner.teach([len(X)], [0])
    with pytest.raises(ValueError, match="dtype"):
        learner.teach(unl[:1], [0.5])
    with pytest.raises(ValueError, match="exceeds"):
        learner.query(len(X))
    with pytest.raises(TypeError, match="own unlabeled rows"):
        learner.query(X)
    assert learner.n_labeled_ == 4  # failed calls changed nothing
    with pytest.raises(ValueError, match="warm_start"):
        SemiSupervisedActiveLearner(KNeighborsClassifier(), entropy_sampling, X, y,
                                    warm_start=True)

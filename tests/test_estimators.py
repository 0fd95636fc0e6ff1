"""The scikit-learn contract of SSLPEClassifier and SSLAPDClassifier."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch.callbacks import Callback

from skdgm import SSLAPDClassifier, SSLPEClassifier, TrainingDivergedError
from tests.conftest import TINY

MODELS = [SSLPEClassifier, SSLAPDClassifier]

EXPECTED_FAILED = {
    "check_classifiers_classes": (
        "string targets must come as an object array (with -1 for unlabeled rows); a 'U'/'S' "
        "dtype y is rejected with a clear error, as sklearn's SelfTrainingClassifier does"),
}
CHECK_PARAMS = dict(max_epochs=20, hidden_sizes=(16,), n_latent=2, lr=1e-2, kl_warmup=0,
                    random_state=0)


@parametrize_with_checks([cls(**CHECK_PARAMS) for cls in MODELS],
                         expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("cls", MODELS)
def test_clone_and_params_round_trip(cls):
    clf = cls(lr=0.01, hidden_sizes=(4, 4), random_state=3)
    params = clf.get_params()
    assert clone(clf).get_params() == params
    clf.set_params(max_epochs=7)
    assert clf.get_params()["max_epochs"] == 7


@pytest.mark.parametrize("cls", MODELS)
def test_fit_predict_shapes_and_fitted_attributes(cls, moons_small):
    X, y, _ = moons_small
    clf = cls(**TINY).fit(X, y)
    assert list(clf.classes_) == [0, 1]
    assert clf.n_features_in_ == 2 and clf.n_iter_ == 2
    proba = clf.predict_proba(X[:10])
    assert proba.shape == (10, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    assert clf.predict_proba_samples(X[:10], n_draws=3).shape == (3, 10, 2)
    assert clf.transform(X[:10]).shape == (10, 2)
    assert clf.sample(4).shape == (4, 2)
    assert set(clf.predict(X[:10])) <= {0, 1}


@pytest.mark.parametrize("cls", MODELS)
def test_recognition_proba_is_q_y_given_x_alone(cls, moons_small, monkeypatch):
    """recognition_proba is the softmax of the recognition net q(y|x) on every row, whatever
    the prediction passes, without sampling, on the simplex and with classes_ as columns."""
    import torch

    import skdgm.base

    X, y, _ = moons_small
    labels = np.array(["neg", "pos"], dtype=object)
    y_str = np.where(y == -1, -1, labels[np.clip(y, 0, 1)]).astype(object)
    clf = cls(**TINY).fit(X, y_str)
    X_before = X.copy()
    q = clf.recognition_proba(X)
    np.testing.assert_array_equal(X, X_before)
    assert q.shape == (X.shape[0], 2) and q.dtype == np.float64
    np.testing.assert_allclose(q.sum(1), 1.0, rtol=0, atol=1e-12)
    # independently: the module's encoder in evaluation mode on all rows at once
    module = clf.module_.eval()
    with torch.no_grad():
        logits = module.encoder_y(torch.as_tensor(X, dtype=torch.float32)).double()
    np.testing.assert_allclose(q, torch.softmax(logits, -1).numpy(), rtol=1e-5, atol=1e-6)
    # rows are scored alike in any pass size, and repeated calls agree exactly
    monkeypatch.setattr(skdgm.base, "PREDICT_CHUNK", 7)
    np.testing.assert_allclose(clf.recognition_proba(X), q, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(clf.recognition_proba(X[:20]), clf.recognition_proba(X[:20]))
    # columns follow classes_: the positive class's column rises with q's own logit difference
    assert list(clf.classes_) == ["neg", "pos"]
    order = np.argsort((logits[:, 1] - logits[:, 0]).numpy())
    assert np.all(np.diff(q[order, 1]) >= -1e-6)


@pytest.mark.parametrize("cls", MODELS)
def test_recognition_proba_rejects_what_predict_proba_rejects(cls, moons_small):
    from sklearn.exceptions import NotFittedError

    X, y, _ = moons_small
    with pytest.raises(NotFittedError):
        cls(**TINY).recognition_proba(X)
    clf = cls(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.recognition_proba(np.hstack([X, X]))
    bad = X[:5].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.recognition_proba(bad)


def test_prediction_passes_have_the_device_chunk_size(moons_small, monkeypatch):
    """CPU passes take PREDICT_CHUNK rows (split among the draws), GPU passes
    PREDICT_CHUNK_CUDA (larger: fewer kernel launches)."""
    import skdgm.base

    X, y, _ = moons_small
    clf = SSLPEClassifier(**TINY).fit(X, y)
    monkeypatch.setattr(skdgm.base, "PREDICT_CHUNK", 16)
    monkeypatch.setattr(skdgm.base, "PREDICT_CHUNK_CUDA", 1000)
    assert clf._chunk_rows() == 16 and clf._chunk_rows(5) == 3 and clf._chunk_rows(40) == 1
    seen = []
    module = clf.net_.module_
    original = module.predict_proba
    monkeypatch.setattr(module, "predict_proba",
                        lambda x, *a, **kw: seen.append(x.shape[0]) or original(x, *a, **kw))
    proba = clf.predict_proba(X[:40])
    assert seen == [16, 16, 8] and proba.shape == (40, 2)
    clf.set_params(device="cuda")      # the rule only; nothing runs on a GPU here
    assert clf._chunk_rows() == 1000 and clf._chunk_rows(10) == 100


@pytest.mark.parametrize("cls", MODELS)
def test_gibbs_y_sets_the_chain_rule_of_every_prediction_after_fit(cls, moons_small,
                                                                    monkeypatch):
    """``gibbs_y`` is a prediction setting: changed after fit it reaches the module's chain in
    predict_proba, predict_proba_samples and transform (no refit); bad values are refused."""
    X, y, _ = moons_small
    clf = cls(**TINY).fit(X, y)
    assert clf.get_params()["gibbs_y"] == "sample"
    sampled = clf.predict_proba(X)
    module = clf.net_.module_
    seen = []
    for name in ("predict_proba", "predict_proba_samples", "transform"):
        run = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _run=run, _name=name, **kw:
                            seen.append((_name, kw["argmax_y"])) or _run(*a, **kw))
    clf.set_params(gibbs_y="argmax")
    argmax = clf.predict_proba(X)
    clf.predict_proba_samples(X[:5], n_draws=3)
    clf.transform(X[:5])
    assert seen == [("predict_proba", True), ("predict_proba_samples", True),
                    ("transform", True)]
    np.testing.assert_allclose(argmax.sum(1), 1.0)
    assert not np.allclose(argmax, sampled)
    np.testing.assert_array_equal(argmax, clf.predict_proba(X))  # seeded, as before
    with pytest.raises(ValueError, match="gibbs_y"):
        cls(**TINY, gibbs_y="mode").fit(X, y)


def test_posterior_draws_are_shared_by_rows_in_different_chunks(moons_small, monkeypatch):
    """Draw d of ``predict_proba_samples`` is one weight sample W_d for every row, also across
    prediction chunks (BatchBALD scores joint draws over rows): copies of one row, predicted in
    different chunks, agree draw by draw; each draw is sampled once."""
    import torch

    import skdgm.base

    X, y, _ = moons_small
    clf = SSLAPDClassifier(**{**TINY, "n_gibbs": 40}).fit(X, y)
    with torch.no_grad():  # a wide weight posterior, so that draws differ a lot
        for name, p in clf.net_.module_.named_parameters():
            if "log_var" in name:
                p.fill_(0.0)
    monkeypatch.setattr(skdgm.base, "PREDICT_CHUNK", 20)  # 2 rows per chunk with 10 draws
    calls = []
    module = clf.net_.module_
    original = module.sample_global
    monkeypatch.setattr(module, "sample_global", lambda n, g=None: calls.append(n) or
                        original(n, g))
    probs = clf.predict_proba_samples(np.repeat(X[:1], 8, axis=0), n_draws=10)[:, :, 0]
    assert calls == [10]
    spread_between_draws = probs[:, 0].std()
    assert spread_between_draws > 0.05
    # rows 0 and 7 sit in different chunks; only their z chains differ
    assert np.abs(probs[:, 0] - probs[:, 7]).max() < 0.5 * spread_between_draws


@pytest.mark.parametrize("method", ["predict_proba", "transform"])
def test_gibbs_weight_draws_are_shared_by_rows_in_different_chunks(method, moons_small,
                                                                   monkeypatch):
    """SSLAPD's predict_proba and transform (Gibbs-averaged z) draw W once per Gibbs step for
    the whole call (not once per chunk and step) and hand the same draws to every chunk;
    beyond STEP_DRAWS_MAX_BYTES each chunk draws its own.  SSLPE has no weight draws."""
    import skdgm.base

    X, y, _ = moons_small
    clf = SSLAPDClassifier(**{**TINY, "n_gibbs": 3}).fit(X, y)
    module = clf.net_.module_
    monkeypatch.setattr(skdgm.base, "PREDICT_CHUNK", 2)
    calls, given = [], []
    sample = module.sample_classifier_weights
    monkeypatch.setattr(module, "sample_classifier_weights",
                        lambda n, g=None: calls.append(n) or sample(n, g))
    run = getattr(module, method)
    monkeypatch.setattr(module, method,
                        lambda x, t, g, s, **kw: given.append(s) or run(x, t, g, s, **kw))
    rows = np.repeat(X[:1], 8, axis=0)
    out = getattr(clf, method)(rows)
    assert calls == [1, 1, 1]                      # one draw per step, for all four chunks
    assert len(given) == 4 and all(s is given[0] for s in given) and len(given[0]) == 3
    assert out.shape == (8, 2 if method == "predict_proba" else module.n_latent)
    assert np.isfinite(out).all()
    calls.clear()
    given.clear()
    monkeypatch.setattr(type(module), "STEP_DRAWS_MAX_BYTES", 0)
    getattr(clf, method)(rows)
    assert given == [None] * 4 and calls == [1] * 12   # 4 chunks x 3 steps
    sslpe = SSLPEClassifier(**TINY).fit(X, y)
    assert sslpe.net_.module_.sample_global_steps(3) is None


@pytest.mark.parametrize("cls", MODELS)
def test_random_state_makes_fit_and_predict_reproducible(cls, moons_small):
    X, y, _ = moons_small
    a = cls(**TINY).fit(X, y).predict_proba(X[:20])
    b = cls(**TINY).fit(X, y).predict_proba(X[:20])
    np.testing.assert_array_equal(a, b)
    c = cls(**{**TINY, "random_state": 1}).fit(X, y).predict_proba(X[:20])
    assert not np.array_equal(a, c)


def test_string_labels_in_object_array(moons_small):
    X, y, _ = moons_small
    y_str = np.array([-1 if v == -1 else ("upper" if v == 0 else "lower") for v in y],
                     dtype=object)
    clf = SSLPEClassifier(**TINY).fit(X, y_str)
    assert list(clf.classes_) == ["lower", "upper"]
    assert set(clf.predict(X)) <= {"lower", "upper"}
    y_eval = np.array(["upper" if v == 0 else "lower" for v in moons_small[2]], dtype=object)
    assert 0.0 <= clf.score(X, y_eval) <= 1.0


def test_score_ignores_unlabeled_rows_and_rejects_unseen_labels(moons_small):
    X, y, y_true = moons_small
    clf = SSLPEClassifier(**TINY).fit(X, y)
    y_part = y_true.copy()
    y_part[::2] = -1
    pred = clf.predict(X[1::2])
    assert clf.score(X, y_part) == pytest.approx(np.mean(pred == y_true[1::2]))
    with pytest.raises(ValueError, match="not seen during fit"):
        clf.score(X[:3], np.array([0, 1, 5]))
    with pytest.raises(ValueError, match="no labeled rows"):
        clf.score(X[:3], np.array([-1, -1, -1]))


def test_pipeline_and_grid_search(moons_small):
    X, _, y_true = moons_small
    y = y_true.copy()
    y[10:] = -1
    y[:10] = y_true[:10]
    pipe = make_pipeline(StandardScaler(), SSLPEClassifier(**TINY))
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (len(X),)
    # GridSearchCV scores on the labeled rows of each validation fold
    grid = GridSearchCV(SSLPEClassifier(**TINY), {"lr": [1e-3, 1e-2]}, cv=2)
    grid.fit(X, y_true)
    assert grid.best_params_["lr"] in (1e-3, 1e-2)
    assert hasattr(grid.best_estimator_, "classes_")


def test_does_not_mutate_inputs(moons_small):
    X, y, _ = moons_small
    X32 = X.astype(np.float32)
    X_copy, y_copy = X32.copy(), y.copy()
    SSLAPDClassifier(**TINY).fit(X32, y).predict_proba(X32)
    np.testing.assert_array_equal(X32, X_copy)
    np.testing.assert_array_equal(y, y_copy)


@pytest.mark.parametrize("bad, err, match", [
    (lambda X, y: (X[:, :1].ravel(), y), ValueError, "2D array"),
    (lambda X, y: (np.where(np.arange(len(X))[:, None] == 3, np.nan, X), y), ValueError,
     "NaN"),
    (lambda X, y: (np.where(np.arange(len(X))[:, None] == 3, np.inf, X), y), ValueError,
     "infinity"),
    (lambda X, y: (X, y[:-1]), ValueError, "inconsistent numbers of samples"),
    (lambda X, y: (X, np.column_stack([y, y])), ValueError, "1-d array of labels"),
    (lambda X, y: (X, np.full(len(y), -1)), ValueError, "no labeled rows"),
    (lambda X, y: (X, np.where(y == 1, 0, y)), ValueError, "only one class"),
    (lambda X, y: (X, y.astype(str)), ValueError, "dtype string"),
    (lambda X, y: (X, y + 0.5), ValueError, "Unknown label type"),
])
def test_bad_training_input_gives_clear_error(moons_small, bad, err, match):
    X, y, _ = moons_small
    Xb, yb = bad(X, y)
    with pytest.raises(err, match=match):
        SSLPEClassifier(**TINY).fit(Xb, yb)


def test_feature_count_change_and_unfitted(moons_small):
    X, y, _ = moons_small
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SSLPEClassifier().predict(X)
    clf = SSLPEClassifier(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(np.hstack([X, X]))


def test_divergence_is_reported_with_a_hint(moons_small):
    X, y, _ = moons_small
    with pytest.raises(TrainingDivergedError, match="lower learning rate"):
        SSLPEClassifier(**TINY).fit(X * 1e30, y)


def test_invalid_hyper_parameter_is_rejected(moons_small):
    X, y, _ = moons_small
    with pytest.raises(ValueError, match="labeled_weight"):
        SSLPEClassifier(labeled_weight="heavy").fit(X, y)


def test_warm_start_continues_training(moons_small):
    X, y, _ = moons_small
    clf = SSLPEClassifier(**{**TINY, "warm_start": True}).fit(X, y)
    clf.fit(X, y)
    assert clf.n_iter_ == 4
    clf.set_params(max_epochs=1).fit(X, y)  # the next warm fit takes the new length
    assert clf.n_iter_ == 5
    cold = SSLPEClassifier(**TINY).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 2


def test_user_callbacks_run_and_param_is_not_mutated(moons_small):
    X, y, _ = moons_small

    class Count(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    cb = Count()
    clf = SSLPEClassifier(**TINY, callbacks=[cb]).fit(X, y)
    assert dict(clf.net_.callbacks_)["Count"].epochs_ == 2
    assert not hasattr(cb, "epochs_")


def test_kl_warmup_and_lr_decay_are_applied(moons_small):
    X, y, _ = moons_small
    clf = SSLPEClassifier(**{**TINY, "max_epochs": 4}, kl_warmup=2, lr=0.01,
                          lr_decay=0.5).fit(X, y)
    assert clf.history_[:, "kl_weight"] == [0.0, 0.5, 1.0, 1.0]
    lr_now = clf.net_.optimizer_.param_groups[0]["lr"]
    assert lr_now == pytest.approx(0.01 * 0.5**4)


def test_warm_fit_keeps_the_optimizer_and_its_decayed_lr(moons_small):
    # documented: as in MLPClassifier, a warm fit continues the first fit's optimizer
    X, y, _ = moons_small
    clf = SSLPEClassifier(**TINY, lr=0.01, lr_decay=0.5, warm_start=True).fit(X, y)
    optimizer = clf.net_.optimizer_
    clf.set_params(lr=1.0).fit(X, y)
    assert clf.net_.optimizer_ is optimizer
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5**4)


def test_l2_is_not_applied_to_bayesian_weights(moons_small):
    X, y, _ = moons_small
    clf = SSLAPDClassifier(**TINY, weight_decay=1e-3).fit(X, y)
    groups = clf.net_.optimizer_.param_groups
    decays = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
    for name, p in clf.module_.named_parameters():
        assert decays[id(p)] == (0.0 if name.startswith("classifier.") else 1e-3), name


def test_validation_split_reports_labeled_accuracy(moons_small):
    from skorch.dataset import ValidSplit

    X, _, y_true = moons_small
    y = y_true.copy()
    y[40:] = -1
    clf = SSLPEClassifier(**TINY, train_split=ValidSplit(4, stratified=True)).fit(X, y)
    acc = clf.history_[-1, "valid_acc"]
    assert 0.0 <= acc <= 1.0
    assert clf.history_[-1, "valid_log_lik"] <= 0.0
    assert clf.history_[0, "valid_acc_best"] and clf.history_[0, "valid_log_lik_best"]
    assert np.isfinite(clf.history_[-1, "valid_loss"])
    # an unstratified split puts every labeled row in the validation fold: clear error
    y_front = np.full(len(y), -1)
    y_front[:40] = y_true[:40]
    with pytest.raises(ValueError, match="no labeled rows"):
        SSLPEClassifier(**TINY, train_split=ValidSplit(4)).fit(X, y_front)


def test_validation_scores_match_a_prediction_on_the_labeled_rows(moons_small):
    import torch
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    X, _, y_true = moons_small
    y = y_true.copy()
    y[40:] = -1
    X_val, y_val = X[:60], np.r_[y_true[:30], np.full(30, -1)]
    clf = SSLPEClassifier(**TINY, n_gibbs=3,
                          train_split=predefined_split(Dataset(X_val, y_val))).fit(X, y)
    # recomputed from the fitted net: the same fixed-seed stream, on the 30 labeled rows only
    with torch.random.fork_rng():
        torch.manual_seed(0)
        proba = clf.net_.predict_proba(X_val[:30])
    assert clf.history_[-1, "valid_acc"] == pytest.approx(
        np.mean(proba.argmax(1) == y_true[:30]))
    assert clf.history_[-1, "valid_log_lik"] == pytest.approx(
        np.mean(np.log(proba[np.arange(30), y_true[:30]])), rel=1e-5)
    # the validation prediction draws from a forked stream: the training run does not depend on
    # how many Gibbs steps it takes
    other = SSLPEClassifier(**TINY, n_gibbs=7,
                            train_split=predefined_split(Dataset(X_val, y_val))).fit(X, y)
    assert other.history_[:, "train_loss"] == clf.history_[:, "train_loss"]
    # with no labeled validation rows the scores are NaN and never "best"
    none = SSLPEClassifier(**TINY, train_split=predefined_split(
        Dataset(X_val, np.full(60, -1)))).fit(X, y)
    assert np.isnan(none.history_[-1, "valid_log_lik"])
    assert not any(none.history_[:, "valid_log_lik_best"])


def test_predefined_validation_set_takes_the_callers_labels(moons_small):
    import torch
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    X, _, y_true = moons_small
    names = np.array(["left", "right"], dtype=object)
    y = names[y_true].astype(object)
    y[40:] = -1
    # string labels in the validation set too, encoded like the training labels
    valid = Dataset(X[:60], np.r_[names[y_true[:30]], np.full(30, -1, dtype=object)])
    clf = SSLPEClassifier(**TINY, train_split=predefined_split(valid)).fit(X, y)
    with torch.random.fork_rng():  # the scorer's stream, recomputed from the fitted net
        torch.manual_seed(0)
        proba = clf.net_.predict_proba(X[:30])
    assert list(clf.classes_) == ["left", "right"]
    assert clf.history_[-1, "valid_log_lik"] == pytest.approx(
        np.mean(np.log(proba[np.arange(30), y_true[:30]])), rel=1e-5)
    assert np.isfinite(clf.history_[-1, "valid_loss"])
    # shifted integer labels (classes 1 and 2): the indices are not the labels
    shifted = SSLPEClassifier(**TINY, n_gibbs=3, train_split=predefined_split(
        Dataset(X[:60], y_true[:60] + 1))).fit(X, np.where(y == -1, -1, y_true + 1))
    plain = SSLPEClassifier(**TINY, n_gibbs=3, train_split=predefined_split(
        Dataset(X[:60], y_true[:60]))).fit(X, np.where(y == -1, -1, y_true))
    assert shifted.history_[:, "valid_log_lik"] == plain.history_[:, "valid_log_lik"]
    # a label the fit never saw, or a wrong feature count: clear errors
    with pytest.raises(ValueError, match="not seen during fit"):
        SSLPEClassifier(**TINY, train_split=predefined_split(
            Dataset(X[:60], np.r_[names[y_true[:59]], ["up"]].astype(object)))).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        SSLPEClassifier(**TINY, train_split=predefined_split(
            Dataset(np.c_[X[:60], X[:60]], y[:60]))).fit(X, y)
    # a validation set without labels counts as unlabeled rows, checked like labeled ones
    unlabeled = SSLPEClassifier(**TINY, train_split=predefined_split(Dataset(X[:60], None)))
    unlabeled.fit(X, y)
    marked = SSLPEClassifier(**TINY, train_split=predefined_split(
        Dataset(X[:60], np.full(60, -1, dtype=object)))).fit(X, y)
    assert np.all(np.isfinite(unlabeled.history_[:, "valid_loss"]))
    assert unlabeled.history_[:, "valid_loss"] == marked.history_[:, "valid_loss"]
    assert np.isnan(unlabeled.history_[-1, "valid_log_lik"])
    with pytest.raises(ValueError, match="features"):
        SSLPEClassifier(**TINY, train_split=predefined_split(
            Dataset(np.c_[X[:60], X[:60]], None))).fit(X, y)


def test_early_stopping_can_monitor_validation_log_likelihood(moons_small):
    import torch
    from skorch.callbacks import EarlyStopping
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    X, _, y_true = moons_small
    y = y_true.copy()
    y[60:] = -1
    X_val, y_val = X[:60], y_true[:60]
    stop = EarlyStopping(monitor="valid_log_lik", lower_is_better=False, patience=2,
                         threshold=0.0, threshold_mode="abs", load_best=True)
    clf = SSLPEClassifier(**{**TINY, "max_epochs": 30}, lr=0.03, callbacks=[stop],
                          train_split=predefined_split(Dataset(X_val, y_val))).fit(X, y)
    scores = clf.history_[:, "valid_log_lik"]
    stop = dict(clf.net_.callbacks_)["EarlyStopping"]  # the fit's copy of the callback
    assert stop.best_epoch_ == 1 + int(np.argmax(scores))
    assert stop.best_epoch_ < len(scores) < 30  # it stopped early, past its best epoch
    # load_best restored the best epoch's weights: its validation score is reproduced
    with torch.random.fork_rng():
        torch.manual_seed(0)
        proba = clf.net_.predict_proba(X_val)
    assert np.mean(np.log(proba[np.arange(60), y_val])) == pytest.approx(max(scores), rel=1e-5)


def test_dataset_tensors_composes_nested_subsets():
    from skorch.dataset import Dataset
    from torch.utils.data import Subset

    from skdgm._training import dataset_tensors, subset_labels

    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    inner = Subset(Dataset(X, y), [9, 7, 5, 3, 1])
    x_t, y_t = dataset_tensors(Subset(inner, [4, 0, 2]), "cpu")
    np.testing.assert_array_equal(y_t.numpy(), [1, 9, 5])
    np.testing.assert_array_equal(x_t.numpy(), X[[1, 9, 5]])
    np.testing.assert_array_equal(subset_labels(Subset(inner, [4, 0, 2])), [1, 9, 5])
    np.testing.assert_array_equal(subset_labels(Dataset(X, y)), y)
    unlabeled = Subset(Dataset(X, None), [3, 1])
    assert subset_labels(unlabeled) is None
    x_u, y_u = dataset_tensors(unlabeled, "cpu")
    assert y_u is None
    np.testing.assert_array_equal(x_u.numpy(), X[[3, 1]])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)), min_size=1,
                max_size=30))
def test_predict_proba_is_a_distribution_for_any_finite_input(fitted_pe, rows):
    proba = fitted_pe.predict_proba(np.array(rows))
    assert proba.shape == (len(rows), 2)
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    assert set(fitted_pe.predict(np.array(rows))) <= {0, 1}


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 299), st.integers(0, 1), st.sampled_from([np.nan, np.inf, -np.inf]))
def test_non_finite_predict_input_rejected(fitted_pe, row, col, value):
    X = np.zeros((300, 2))
    X[row, col] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        fitted_pe.predict_proba(X)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 4).filter(lambda d: d != 1), st.integers(1, 5))
def test_wrong_dimension_predict_input_rejected(fitted_pe, ndim, size):
    X = np.zeros((size,) * ndim) if ndim else np.float64(1.0)
    if ndim == 2 and size == 2:
        return  # the valid shape
    with pytest.raises(ValueError):
        fitted_pe.predict_proba(X)


@pytest.fixture(scope="module")
def fitted_pe(moons_small):
    X, y, _ = moons_small
    return SSLPEClassifier(**TINY).fit(X, y)

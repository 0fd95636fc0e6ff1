"""Learning tests: the thesis protocol of Tables 5.1 (moons, noise 0.1, six fixed labels).

Fixed seeds, the package's default (thesis) settings; accuracy figures over many seeds live in
BENCHMARKS.md, not here.
"""

import numpy as np
import pytest

from skdgm import SSLAPDClassifier, SSLPEClassifier
from skdgm.datasets import make_ssl_moons


@pytest.fixture(scope="module")
def moons():
    X, y, _ = make_ssl_moons(10_000, noise=0.1, labels="fixed", random_state=0)
    X_test, _, y_test = make_ssl_moons(10_000, noise=0.1, random_state=1)
    return X, y, X_test, y_test


@pytest.mark.slow
@pytest.mark.parametrize("cls", [SSLPEClassifier, SSLAPDClassifier])
def test_learns_moons_from_six_fixed_labels(cls, moons):
    X, y, X_test, y_test = moons
    assert np.sum(y >= 0) == 6
    clf = cls(random_state=0).fit(X, y)
    assert clf.score(X_test, y_test) >= 0.95

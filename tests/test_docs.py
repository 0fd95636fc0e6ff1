"""The documentation (user guide and API reference) builds offline with warnings as errors."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("myst_parser")
    pytest.importorskip("numpydoc")
    build = pytest.importorskip("sphinx.cmd.build")
    status = build.build_main(["-W", "-q", "-b", "html", "-d", str(tmp_path / "doctrees"),
                               str(DOCS), str(tmp_path / "html")])
    assert status == 0
    api = (tmp_path / "html" / "api.html").read_text()
    # the estimators' own methods (inherited from the package's base class) and the torch
    # modules' are documented
    for name in ("SSLAPDClassifier.predict_proba_samples", "SSLPEClassifier.fit",
                 "acquisition.bald", "active.SemiSupervisedActiveLearner.query",
                 "nn.ssl_dgm.SSLDGM.bounds", "nn.layers.BayesianLinear.kl"):
        assert f'id="skdgm.{name}"' in api
    # the methods scikit-learn's mixins and torch's nn.Module define are not
    assert "set_fit_request" not in api and "get_metadata_routing" not in api
    assert "requires_grad_" not in api
    assert "Gibbs" in (tmp_path / "html" / "user_guide.html").read_text()

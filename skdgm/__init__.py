"""skdgm: Bayesian deep generative models for joint semi-supervised and active learning.

scikit-learn estimators (built on skorch and PyTorch) for the models of Gordon (2017),
*Bayesian Deep Generative Models for Semi-Supervised and Active Learning*.
"""

from skdgm.baselines import ADGMClassifier, DNNClassifier, M2Classifier, SDGMClassifier
from skdgm.callbacks import KLWarmup, StochasticBinarization, TrainingDivergedError
from skdgm.classifiers import SSLAPDClassifier, SSLPEClassifier

__version__ = "0.1.0"

__all__ = ["ADGMClassifier", "DNNClassifier", "KLWarmup", "M2Classifier", "SDGMClassifier",
           "SSLAPDClassifier", "SSLPEClassifier", "StochasticBinarization",
           "TrainingDivergedError", "__version__"]

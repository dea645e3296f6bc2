"""Noise learning: the device's detector error model estimated from its own detection events.

The decoders start from a nominal model (uniform circuit noise); this package learns what the
device really does — every mechanism's probability, with an interval — from the syndromes alone:
:func:`learn_noise` (pairwise and full-mechanism estimators, guards), :class:`LearnedNoise` (the
model a matcher, the run file and the command line share), and the readers of what a lab
recorded (:func:`read_samples`). See docs/noise.md.
"""

from qplane.noise.estimators import (ESTIMATORS, MIN_SHOTS, as_packed, estimate_from_counts,
                                     learn_noise, moment_sets)
from qplane.noise.compare import compare_models, detector_flip_rates, symptom_probabilities
from qplane.noise.live import LiveNoiseLearner, estimator_for
from qplane.noise.inputs import (STIM_FORMATS, Samples, load_dem, nominal_dem, read_run_samples,
                                 read_samples, read_stim_samples, samples_from_arrays)
from qplane.noise.model import P_MAX, P_MIN, LearnedNoise
from qplane.noise.qubits import detectors_touched, qubit_detectors
from qplane.noise.structure import DemStructure, dem_hash, p_of_q, q_of_p

__all__ = ["compare_models", "detector_flip_rates", "detectors_touched", "qubit_detectors", "symptom_probabilities", "DemStructure", "ESTIMATORS", "LearnedNoise", "MIN_SHOTS", "P_MAX", "P_MIN",
           "LiveNoiseLearner", "STIM_FORMATS", "Samples", "as_packed", "dem_hash", "estimate_from_counts", "estimator_for", "learn_noise", "load_dem", "moment_sets",
           "nominal_dem", "p_of_q", "q_of_p", "read_run_samples", "read_samples",
           "read_stim_samples", "samples_from_arrays"]

"""PyMatching as a qplane decoder: the classical baseline and the global decoder.

>>> import stim
>>> from qplane.codes import memory_circuit
>>> circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.005)
>>> compiled = PyMatchingDecoder().compile_decoder_for_dem(dem=circuit.detector_error_model(decompose_errors=True))
>>> dets, obs = circuit.compile_detector_sampler(seed=1).sample(100, separate_observables=True, bit_packed=True)
>>> compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets).shape
(100, 1)
"""

from __future__ import annotations

import numpy as np
import pymatching
import stim

from qplane.decoder.protocol import CompiledDecoder, Decoder, check_detection_events


class CompiledPyMatching(CompiledDecoder):
    """PyMatching bound to one detector error model."""

    def __init__(self, matching: pymatching.Matching, *, num_detectors: int, num_observables: int,
                 correlated: bool):
        self.matching = matching
        self.num_detectors = num_detectors
        self.num_observables = num_observables
        self.correlated = correlated

    def decode_shots_bit_packed(self, *, bit_packed_detection_event_data: np.ndarray) -> np.ndarray:
        check_detection_events(bit_packed_detection_event_data, self.num_detectors)
        kwargs = {"enable_correlations": True} if self.correlated else {}
        return self.matching.decode_batch(
            bit_packed_detection_event_data,
            bit_packed_shots=True,
            bit_packed_predictions=True,
            **kwargs,
        )


class PyMatchingDecoder(Decoder):
    """Minimum-weight perfect matching (PyMatching 2), optionally with correlations.

    Args:
        correlated: use PyMatching's correlated matching (needs a DEM with hyperedges kept
            as decomposed suggestions; stim's ``decompose_errors=True`` gives that).
    """

    def __init__(self, *, correlated: bool = False):
        self.correlated = correlated
        self.name = "pymatching-correlated" if correlated else "pymatching"

    def compile_decoder_for_dem(self, *, dem: stim.DetectorErrorModel) -> CompiledPyMatching:
        kwargs = {"enable_correlations": True} if self.correlated else {}
        matching = pymatching.Matching.from_detector_error_model(dem, **kwargs)
        return CompiledPyMatching(
            matching,
            num_detectors=dem.num_detectors,
            num_observables=dem.num_observables,
            correlated=self.correlated,
        )

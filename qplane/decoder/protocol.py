"""The decoder protocol every qplane decoder implements.

It is sinter's protocol (``sinter.Decoder`` / ``sinter.CompiledDecoder``), so any qplane decoder
plugs into ``sinter.collect`` unchanged:

- :meth:`Decoder.compile_decoder_for_dem` takes a ``stim.DetectorErrorModel`` and returns a
  :class:`CompiledDecoder` bound to it.
- :meth:`CompiledDecoder.decode_shots_bit_packed` takes detection events bit-packed in stim's
  ``b8`` layout, a ``uint8`` array of shape ``(shots, ceil(num_detectors / 8))``, and returns
  predicted observable flips bit-packed the same way, ``uint8`` of shape
  ``(shots, ceil(num_observables / 8))``.

qplane's compiled decoders check that contract on every call (:func:`check_detection_events`)
instead of trusting it, because a block of the wrong width is a wrong logical frame.
"""

from __future__ import annotations

import abc

import numpy as np
import sinter
import stim

from qplane.errors import DecoderError


def packed_width(num_bits: int) -> int:
    """Bytes per shot for ``num_bits`` bits in stim's b8 layout.

    >>> packed_width(24), packed_width(1), packed_width(0)
    (3, 1, 0)
    """
    return (num_bits + 7) // 8


def check_detection_events(events: np.ndarray, num_detectors: int) -> None:
    """Raise :class:`DecoderError` unless ``events`` is b8-packed detection data for ``num_detectors``."""
    if not isinstance(events, np.ndarray):
        raise DecoderError(f"detection events must be a numpy array, got {type(events).__name__}")
    if events.dtype != np.uint8:
        raise DecoderError(f"detection events must be bit-packed uint8, got dtype {events.dtype}")
    if events.ndim != 2 or events.shape[1] != packed_width(num_detectors):
        raise DecoderError(
            f"detection events must have shape (shots, {packed_width(num_detectors)}) for "
            f"{num_detectors} detectors, got {events.shape}"
        )


class CompiledDecoder(sinter.CompiledDecoder, abc.ABC):
    """A decoder bound to one detector error model."""

    num_detectors: int
    num_observables: int

    @abc.abstractmethod
    def decode_shots_bit_packed(self, *, bit_packed_detection_event_data: np.ndarray) -> np.ndarray:
        """Predict observable flips, bit-packed, for bit-packed detection events."""


class Decoder(sinter.Decoder, abc.ABC):
    """A decoder factory: ``compile_decoder_for_dem`` gives a :class:`CompiledDecoder`."""

    #: Short name used in configs, run files and ``sinter collect --decoders``.
    name: str

    @abc.abstractmethod
    def compile_decoder_for_dem(self, *, dem: stim.DetectorErrorModel) -> CompiledDecoder:
        """Build the decoder for ``dem``."""

"""A circuit's fingerprint: the short id that names the circuit a block was decoded with.

The QEC device reports it with every block (``circuit_id``), the decoders and the run file key
circuits by it; it changes whenever the circuit's text does.
"""

from __future__ import annotations

import hashlib

import stim


def circuit_fingerprint(circuit: stim.Circuit) -> str:
    """A 16-hex-digit SHA-256 prefix of the circuit's text.

    >>> len(circuit_fingerprint(stim.Circuit("H 0")))
    16
    """
    return hashlib.sha256(str(circuit).encode()).hexdigest()[:16]

"""What a lab recorded, as detection events and a nominal model: arrays, run files, stim files.

:func:`read_samples` opens the three kinds of source the estimators take:

* a qplane run file (``.h5``): its bit-packed ``/qec/detection_events`` and the decoding
  circuit it recorded (a window of shots with ``start`` / ``stop``);
* a stim sample file in ``b8``, ``01`` or ``ptb64`` (what ``stim detect`` / ``stim sample_dem``
  or a lab's own control system writes), with the circuit or DEM file it was sampled from;
* arrays (:func:`samples_from_arrays`).

>>> import numpy as np, stim, tempfile, pathlib
>>> dem = stim.DetectorErrorModel("error(0.1) D0 D1\\nerror(0.2) D2 L0")
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> (d / "m.dem").write_text(str(dem)) > 0
True
>>> bits = dem.compile_sampler(seed=1).sample(50)[0]
>>> stim.write_shot_data_file(data=bits, path=str(d / "s.01"), format="01", num_detectors=3)
>>> s = read_samples(d / "s.01", dem=d / "m.dem")
>>> s.shots, s.detection_events.shape, s.format
(50, (50, 1), '01')
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import stim

from qplane.errors import QplaneError
from qplane.noise.estimators import as_packed

#: stim sample formats read here (``r8`` and ``hits`` are stim's too, and read as well).
STIM_FORMATS = ("b8", "01", "ptb64", "r8", "hits", "dets")


@dataclasses.dataclass(frozen=True)
class Samples:
    """Detection events (bit-packed, b8 layout) and the nominal model they are learned against.

    Attributes:
        detection_events: ``(shots, ceil(detectors / 8))`` ``uint8``.
        dem: the nominal detector error model (decomposed).
        source: file name or run id.
        window: ``(first, stop)`` shot indices in the source.
        format: ``"runfile"``, a stim format name, or ``"array"``.
        observables: bit-packed observable flips when the source has them (else ``None``).
    """

    detection_events: np.ndarray
    dem: stim.DetectorErrorModel
    source: str
    window: tuple[int, int]
    format: str
    observables: np.ndarray | None = None

    @property
    def shots(self) -> int:
        return int(self.detection_events.shape[0])


def nominal_dem(circuit: stim.Circuit) -> stim.DetectorErrorModel:
    """The decomposed detector error model of a circuit (what PyMatching is built from)."""
    try:
        return circuit.detector_error_model(decompose_errors=True)
    except ValueError:
        return circuit.detector_error_model(decompose_errors=True,
                                            ignore_decomposition_failures=True)


def load_dem(path: str | os.PathLike) -> stim.DetectorErrorModel:
    """A DEM from a ``.dem`` file, or the decomposed DEM of a ``.stim`` circuit file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise QplaneError(f"cannot read {p}: {e.strerror}") from e
    try:
        if p.suffix == ".dem":
            return stim.DetectorErrorModel(text)
        try:
            return nominal_dem(stim.Circuit(text))
        except ValueError:
            return stim.DetectorErrorModel(text)
    except ValueError as e:
        raise QplaneError(f"{p} is neither a stim circuit nor a detector error model: {e}") from e


def samples_from_arrays(detection_events: np.ndarray, dem: stim.DetectorErrorModel, *,
                        source: str = "array") -> Samples:
    """Wrap arrays (booleans or b8 rows) as :class:`Samples`."""
    packed = as_packed(detection_events, dem.num_detectors)
    return Samples(packed, dem, source, (0, packed.shape[0]), "array")


def read_run_samples(path: str | os.PathLike, *, start: int = 0,
                     stop: int | None = None) -> Samples:
    """Shots ``[start, stop)`` of a run file and the decoding circuit it recorded."""
    from qplane.runfile import open_run

    with open_run(path) as run:
        stop = run.num_shots if stop is None else min(int(stop), run.num_shots)
        dets = run.read_shots("detection_events", start, stop)
        circuit = run.circuit()
        truth = None
        try:
            truth = run.read_shots("truth", start, stop)
        except QplaneError:
            pass
        return Samples(np.ascontiguousarray(dets), nominal_dem(circuit), run.run_id,
                       (int(start), int(start + len(dets))), "runfile", truth)


def read_stim_samples(path: str | os.PathLike, *, circuit: str | os.PathLike | None = None,
                      dem: str | os.PathLike | None = None, format: str | None = None,
                      append_observables: bool = False) -> Samples:
    """A stim sample file, with the circuit or DEM file it was sampled from.

    Args:
        path: the sample file.
        circuit, dem: the ``.stim`` circuit or ``.dem`` model (one of them).
        format: ``b8``, ``01``, ``ptb64``, ``r8``, ``hits`` or ``dets`` (default: the file's
            suffix).
        append_observables: each shot also carries the observables after the detectors
            (``stim detect --append_observables``).
    """
    if (circuit is None) == (dem is None):
        raise QplaneError("give the circuit (--circuit FILE.stim) or the DEM (--dem FILE.dem) "
                          "the samples were taken from, one of them")
    model = load_dem(circuit if circuit is not None else dem)
    fmt = (format or Path(path).suffix.lstrip(".")).lower()
    if fmt not in STIM_FORMATS:
        raise QplaneError(f"unknown sample format {fmt!r} of {path}; give format= one of "
                          f"{', '.join(STIM_FORMATS)}")
    nd, no = model.num_detectors, model.num_observables
    try:
        data = stim.read_shot_data_file(path=str(path), format=fmt, num_detectors=nd,
                                        num_observables=no if append_observables else 0,
                                        bit_packed=False)
    except (ValueError, RuntimeError, OSError) as e:
        raise QplaneError(f"cannot read {path} as {fmt} shots of {nd} detectors"
                          f"{f' + {no} observables' if append_observables else ''}: {e}") from e
    obs = None
    if append_observables:
        obs = np.packbits(data[:, nd:], axis=1, bitorder="little")
    packed = np.packbits(data[:, :nd], axis=1, bitorder="little")
    return Samples(packed, model, str(path), (0, packed.shape[0]), fmt, obs)


def read_samples(path: str | os.PathLike, **kw) -> Samples:
    """A run file (``.h5``) or a stim sample file (with ``circuit=`` or ``dem=``)."""
    p = Path(path)
    if p.suffix in (".h5", ".hdf5"):
        if kw.get("circuit") or kw.get("dem"):
            raise QplaneError(f"{p} is a run file: it carries its own circuit; drop --circuit/--dem")
        return read_run_samples(p, start=kw.get("start", 0), stop=kw.get("stop"))
    kw.pop("start", None)
    kw.pop("stop", None)
    return read_stim_samples(p, **kw)

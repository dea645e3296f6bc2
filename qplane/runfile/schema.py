"""The qplane run file: one HDF5 file per run, its layout and schema version.

This module is the single definition of the layout; :mod:`qplane.runfile.writer` creates files
from it and :mod:`qplane.runfile.reader` reads them. Changing the layout means a new
:data:`SCHEMA_VERSION` and a converter (:mod:`qplane.runfile.converters`) for the old one.

Layout (schema version 3)::

    /                         attrs: schema, schema_version, schema_minor, run_id, created,
                              qplane_version, versions (JSON: package -> version), config (YAML
                              text), config_path, station_snapshot (JSON), end_state,
                              end_reason, ended, key_fingerprints (JSON: role -> fingerprint of
                              its CURVE public key, never a key; {} for a run without keys),
                              recorder_checkpoint_0 and _1 (uint8[32768] each: the recorder's
                              checkpoints, see below)
    /status                   scalar str dataset: "running" while the writer lives, then the
                              end state; rewritten in place, so a SWMR reader sees it live
    /qec                      attrs: num_detectors, num_observables, decoder, basis, distance,
                              rounds (those known when the run starts)
    /qec/detection_events     uint8 (shots, ceil(num_detectors/8)), stim b8 bit-packed
    /qec/predictions          uint8 (shots, ceil(num_observables/8)), decoder output, which is
                              also the frame update applied (the correction IS the prediction)
    /qec/truth                uint8 (shots, ceil(num_observables/8)), true flips (simulation only)
    /qec/blocks               table, one row per block, BLOCK_DTYPE; shot_start/shots index the
                              shot datasets above. A block's row and detection events are written
                              when it is acquired (applied=0); predictions, truth and the timing
                              fields are filled in place when its correction is applied (applied=1)
    /qec/circuits             table, CIRCUIT_DTYPE: each decoding circuit (stim text) by id
    /events                   table, EVENT_DTYPE: errors, gaps, duplicates, rejected records,
                              worker start/stop, run start and end
    /calibration/runs         table, CALIBRATION_DTYPE: one row per calibration-node run
    /parameters/history       table, PARAMETER_DTYPE: every real parameter change (old -> new);
                              the rows of one multi-setting update share its ``update`` id
    /simulation/truth         table, TRUTH_DTYPE: a simulated device's true ideal settings over
                              time (simulation only; never in /parameters/history)
    /streams                  table, STREAM_DTYPE: per record stream, the count its sender says
                              it sent and the count recorded (a lost tail shows as a difference)
    /noise/models             table, NOISE_DTYPE: each learned noise model a decoding worker
                              swapped to (time, window, per-mechanism probabilities and 95 %
                              intervals on the decomposed DEM of its circuit); a worker's blocks
                              from ``first_seq`` on were decoded with it (``noise_version``)

The recorder's checkpoints: after each flush the recorder writes, into one of the two
``recorder_checkpoint_*`` attributes in turn, the CRC-32 (8 hex digits) and JSON text of
``{"n", "sizes", "state"}``: a counter, every dataset's row count, and its stream positions
(per sender and kind, the next sequence number expected, records counted, first and last
seen), then flushes again. What a sender was acknowledged is in the file as of that
checkpoint; a recorder restarted after kill -9 cuts the file back to the newest intact one
(:meth:`qplane.runfile.RunFileWriter.reopen`) and the senders send the rest again. A closed
file's checkpoints are of no further use; readers ignore them.

Changes in 3.1 (minor): the root attributes ``key_fingerprints`` and
``recorder_checkpoint_0`` / ``_1`` are new (a 3.0 file has none: no fingerprints, and it
cannot be taken up by a restarted recorder).

Changes from version 2: ``/noise/models`` is new (older files read it as empty). ``t_sent`` and
``t_received`` in ``/qec/blocks`` (the block's path stage by stage) came with version 2 minor 1;
a 2.0 file reads them as NaN.

Changes from version 1 to 2: ``/qec/corrections`` is gone (it was a byte copy of ``/qec/predictions``);
``/parameters/history`` gained ``node`` and ``update`` and no longer holds simulated truth (v1
kept it there, as rows of source ``truth``), which has its own table ``/simulation/truth``;
``/streams`` is new.

All tables are 1-D chunked, resizable datasets of a compound dtype. Times are UNIX seconds
(float64, UTC), one time base for every table; a device's own clock (the simulated lab's
accelerated clock) appears only in ``/simulation/truth`` ``device_time`` and inside JSON fields
(``experiment``, ``details``). Every dataset exists from the start, so the file can be opened
in SWMR mode and read while the run is being written. ``/qec/blocks``, written many times a
second, has only fixed-size fields: variable-length data is not safe to read concurrently under
SWMR (a reader can see a row before the heap object it points to). The low-rate tables keep
variable-length text; a live reader re-opens the file to read their newest rows.

>>> sorted(TABLES)[:4]
['/calibration/runs', '/events', '/noise/models', '/parameters/history']
>>> sorted(TABLES)[4:]
['/qec/blocks', '/qec/circuits', '/simulation/truth', '/streams']
"""

from __future__ import annotations

import h5py
import numpy as np

SCHEMA = "qplane.runfile"
SCHEMA_VERSION = 3
#: Minor version within :data:`SCHEMA_VERSION`: a minor version only adds fields, which a
#: reader of the same major version reads as missing (NaN / -1 / "") in older files and
#: drops in newer ones, so it needs no converter. (Version 2 minor 1 added ``/qec/blocks``
#: ``t_sent``, ``t_received``; version 3 has them from its start; 3.1 added the root
#: attributes ``key_fingerprints`` and the recorder's checkpoints.)
SCHEMA_MINOR = 1

#: Values of the root ``end_state`` attribute and ``/status``.
END_STATES = ("running", "completed", "interrupted", "failed")

_str = h5py.string_dtype()
_floats = h5py.vlen_dtype(np.dtype("float64"))
_bytes = h5py.vlen_dtype(np.dtype("uint8"))

BLOCK_DTYPE = np.dtype([
    ("seq", "i8"),                  # wire sequence number of the syndrome record
    ("applied", "i1"),              # 1 once the correction is applied; 0 for a block acquired
                                    # but never corrected (its prediction/truth rows
                                    # are zero and mean nothing)
    ("block_index", "i8"),          # the instrument's block index
    ("shot_start", "i8"),           # first row in /qec/detection_events etc.
    ("shots", "i8"),
    ("circuit_id", "S16"),          # key into /qec/circuits
    ("t_acquired", "f8"),           # instrument returned the block
    ("t_decoded", "f8"),            # decoder finished it
    ("t_applied", "f8"),            # correction applied on the instrument
    ("decode_seconds", "f8"),       # time inside the decoder call
    ("failures", "i8"),             # logical failures after correction (simulation), else -1
    ("worker", "S32"),              # which decoding worker decoded it
    ("shadow_shots", "i8"),         # shots also decoded by the shadow PyMatching
    ("shadow_disagreements", "i8"), # of those, shots where the two decoders differ
    # schema 2.1: the block's path stage by stage (acquired -> sent -> received -> decoded
    # -> applied); NaN where not measured (and in files from before 2.1)
    ("t_sent", "f8"),               # instrument server had sent it to the decoders
    ("t_received", "f8"),           # decoding worker received it
])

CIRCUIT_DTYPE = np.dtype([
    ("circuit_id", "S16"),
    ("time", "f8"),
    ("num_detectors", "i8"),
    ("num_observables", "i8"),
    ("stim_circuit", _str),
])

EVENT_DTYPE = np.dtype([
    ("time", "f8"),
    ("level", "S8"),       # info | warning | error
    ("source", _str),      # process that reported it (instrument_server, decoder-0, ...)
    ("kind", _str),        # run_start, run_end, gap, duplicate, rejected, worker_died, ...
    ("message", _str),
    ("details", _str),     # JSON
])

CALIBRATION_DTYPE = np.dtype([
    ("time", "f8"),
    ("node", _str),
    ("qubit", _str),
    ("outcome", _str),     # success | out_of_spec | bad_data | fit_failed | in_spec ...
    ("reason", _str),
    ("experiment", _str),  # JSON: kind, settings, shots, units
    ("sweep", _floats),
    ("signal", _floats),
    ("fit", _str),         # JSON: parameters, uncertainties, goodness of fit
    ("verdict", _str),     # JSON: the learned second opinion, if any
    ("figure_png", _bytes),
])

PARAMETER_DTYPE = np.dtype([
    ("time", "f8"),
    ("parameter", _str),   # logical control or QCoDeS parameter path
    ("old", "f8"),
    ("new", "f8"),
    ("source", _str),      # process that changed it
    ("node", _str),        # calibration node that asked for it ("" if none)
    ("update", _str),      # id of the atomic update this row belongs to (the rows of one
                           # multi-setting update share it; "" if not known)
    ("details", _str),     # JSON: fit result, reason, revert-of ...
])

TRUTH_DTYPE = np.dtype([
    ("time", "f8"),         # UNIX time it was recorded
    ("device_time", "f8"),  # the simulated device's own clock
    ("setting", _str),      # e.g. "q0.pi_amplitude"
    ("value", "f8"),        # the true ideal value of that setting
])

STREAM_DTYPE = np.dtype([
    ("source", _str),       # sender of the stream (instrument_server, decoder-0, ...)
    ("kind", _str),         # record kind of the stream
    ("sent", "i8"),         # records the sender says it sent (its end-of-stream record);
                            # -1 if it never sent one
    ("recorded", "i8"),     # records of that stream the recorder received
    ("first_seq", "i8"),
    ("last_seq", "i8"),
    ("time", "f8"),         # UNIX time the row was written
])

NOISE_DTYPE = np.dtype([
    ("time", "f8"),          # UNIX time the worker swapped to it
    ("learned_at", "f8"),    # UNIX time it was estimated
    ("worker", _str),        # decoding worker that learned it and decodes with it
    ("version", "i8"),       # the worker's model counter (0: nominal, never stored)
    ("first_seq", "i8"),     # seq of the first syndrome record decoded with it
    ("circuit_id", "S16"),   # its nominal structure: the decomposed DEM of this circuit
    ("model_hash", "S16"),   # qplane.noise.LearnedNoise.hash
    ("estimator", _str),     # pairwise | full
    ("shots", "i8"),         # shots in its window
    ("window_start", "i8"),  # the window: the worker's shot counter, [start, stop)
    ("window_stop", "i8"),
    ("kept_nominal", "i8"),  # mechanisms the guards kept at their nominal value
    ("probabilities", _floats),
    ("lower", _floats),
    ("upper", _floats),
    ("details", _str),       # JSON: guards' reasons, nominal hash, config of the estimator
])

#: Table path -> row dtype.
TABLES: dict[str, np.dtype] = {
    "/qec/blocks": BLOCK_DTYPE,
    "/qec/circuits": CIRCUIT_DTYPE,
    "/events": EVENT_DTYPE,
    "/calibration/runs": CALIBRATION_DTYPE,
    "/parameters/history": PARAMETER_DTYPE,
    "/simulation/truth": TRUTH_DTYPE,
    "/streams": STREAM_DTYPE,
    "/noise/models": NOISE_DTYPE,
}

#: Shot datasets under /qec and which width each has ("detectors" or "observables").
SHOT_DATASETS: dict[str, str] = {
    "/qec/detection_events": "detectors",
    "/qec/predictions": "observables",
    "/qec/truth": "observables",
}

#: The per-shot datasets a block's ``applied`` record fills (every shot dataset but the
#: detection events, which come with the block). To add one: a line in :data:`SHOT_DATASETS`,
#: the array on :class:`qplane.records.Applied`, and the instrument server filling it.
APPLIED_SHOT_DATASETS: tuple[str, ...] = tuple(
    name.rsplit("/", 1)[-1] for name in SHOT_DATASETS if name != "/qec/detection_events")

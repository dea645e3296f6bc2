"""How fresh must calibration be? A free oracle that calibrates perfectly, but late.

The closed-loop bench's ``perfect`` reference sets every control to the truth at the instant
each window's block is taken. No loop can: what it knows of the device is at least as old as
its last check, and a syndrome only shows a drift in the block that paid for it. This oracle
measures the price of that lag on the same device, seed and decoder as
:mod:`qplane.bench._closed_loop`: before each block every chosen part of the frequency is set
to its true value ``lag`` seconds earlier (at most one window: the previous block's instant),
the rest to the truth now, at no device cost.

Parts: ``all`` (every setting lagged), ``diffusion`` (only the slow random walk of the
frequency), ``tls`` (only the jumps of two-level defects), ``data`` / ``ancilla`` (every
frequency part, on data qubits or ancillas only).

    python -m qplane.bench._lag_oracle --scenario harsh --hours 2 all@0 all@60 tls@60 data@60

>>> run_oracle("all", 0.0, hours=0.02, shots=256, distance=3)   # doctest: +ELLIPSIS
Connected to: ...
{'part': 'all', 'lag': 0.0, 'ler': ..., 'windows': 1}
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from qplane.bench._closed_loop import SCENARIOS, _decoder, open_lab
from qplane.sim_instruments.noise import Settings

PARTS = ("all", "diffusion", "tls", "data", "ancilla")
_CONTROLS = ("drive_frequency", "pi_amplitude", "readout_angle", "readout_threshold")


def run_oracle(part: str, lag: float, *, scenario: str = "harsh", hours: float = 1.0,
               window: float = 60.0, shots: int = 4096, seed: int = 20261126,
               distance: int = 5) -> dict[str, Any]:
    """The time-averaged LER of the lagged oracle (see the module docstring)."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}")
    lab = open_lab(seed, distance, SCENARIOS[scenario])
    try:
        qpu = lab.station.components["qpu"]
        qpu.shots_per_block(shots)
        matcher = _decoder(qpu)
        model = qpu._device_model_and_layout()[0]
        data = np.array([r == "data" for r in qpu.layout.roles])
        names = qpu.qubits()
        failures = total = 0
        n = int(round(hours * 3600 / window))
        for k in range(n):
            t = k * window
            if qpu.clock.now() < t - lag:
                qpu.advance_clock(t - lag - qpu.clock.now())
            old = Settings.calibrated(qpu.truth())
            df_old, tls_old = model._df.copy(), model._tls_df.copy()
            if qpu.clock.now() < t:
                qpu.advance_clock(t - qpu.clock.now())
            now = Settings.calibrated(qpu.truth())
            values = {c: getattr(old if part == "all" else now, c).copy() for c in _CONTROLS}
            f = now.drive_frequency
            if part == "diffusion":
                values["drive_frequency"] = f - model._df + df_old
            elif part == "tls":
                values["drive_frequency"] = f - model._tls_df + tls_old
            elif part in ("data", "ancilla"):
                lagged = f - model._df + df_old - model._tls_df + tls_old
                values["drive_frequency"] = np.where(data if part == "data" else ~data,
                                                     lagged, f)
            for control, v in values.items():
                for i, q in enumerate(names):
                    param, raw = qpu.controls.check(control, q, float(v[i]), step=False)
                    param.set(raw)
            block = qpu.acquire_block()
            dets = np.unpackbits(block.detection_events, axis=1,
                                 bitorder="little")[:, :block.num_detectors]
            pred = matcher.decode_batch(dets)
            res = qpu.apply_correction(block.index, np.packbits(
                pred.astype(np.uint8), axis=1, bitorder="little"))
            failures += res.failures
            total += res.shots
        return {"part": part, "lag": float(lag), "ler": failures / total, "windows": n}
    finally:
        lab.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m qplane.bench._lag_oracle",
                                description="LER of a perfect but late calibration")
    p.add_argument("specs", nargs="+", help="PART@LAG, e.g. all@60 tls@60 data@30")
    p.add_argument("--scenario", default="harsh", choices=tuple(SCENARIOS))
    p.add_argument("--hours", type=float, default=1.0)
    args = p.parse_args(argv)
    ref = None
    for spec in args.specs:
        part, _, lag = spec.partition("@")
        r = run_oracle(part, float(lag or 0.0), scenario=args.scenario, hours=args.hours)
        ref = r["ler"] if ref is None else ref
        print(f"{spec:<14} LER {r['ler']:.5f}  ({r['ler'] / ref:.2f}x the first)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

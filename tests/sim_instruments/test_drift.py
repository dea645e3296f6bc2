"""Drift: reproducible from a seed, different across seeds, with TLS jumps, on the sim clock."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qplane.errors import ConfigError
from qplane.sim_instruments.clock import SimClock
from qplane.sim_instruments.device import DeviceModel, DeviceProfile


def arrays(truth):
    return {f.name: getattr(truth, f.name) for f in dataclasses.fields(truth)}


def same(a, b):
    return all(np.array_equal(x, arrays(b)[k]) for k, x in arrays(a).items())


def test_drift_with_a_fixed_seed_is_reproducible_however_it_is_queried():
    direct = DeviceModel(17, seed=42).truth_at(3600.0)
    stepped = DeviceModel(17, seed=42)
    for t in (0.0, 10.5, 900.0, 3599.9, 3600.0):
        last = stepped.truth_at(t)
    assert same(direct, last)
    # Going back in time replays the same history.
    assert same(stepped.truth_at(10.0), DeviceModel(17, seed=42).truth_at(10.0))


def test_different_seeds_differ():
    a, b = DeviceModel(17, seed=1), DeviceModel(17, seed=2)
    assert not np.allclose(a.truth_at(0.0).frequency, b.truth_at(0.0).frequency)
    # Same fabrication, different drift would also differ: compare the drift itself.
    da = a.truth_at(3600.0).frequency - a.truth_at(0.0).frequency
    db = b.truth_at(3600.0).frequency - b.truth_at(0.0).frequency
    assert not np.allclose(da, db)


def test_drift_has_the_configured_size():
    """Frequency random walk: ~20 kHz/sqrt(h); amplitude ~1 %/sqrt(h) (both over 1 h)."""
    model = DeviceModel(400, seed=3, profile=DeviceProfile(tls_rate=0.0))
    t0, t1 = model.truth_at(0.0), model.truth_at(3600.0)
    df = t1.frequency - t0.frequency
    da = t1.pi_amplitude / t0.pi_amplitude - 1
    assert 15e3 < df.std() < 25e3
    assert 0.007 < da.std() < 0.013
    assert abs(df.mean()) < 4 * 20e3 / np.sqrt(400)


def test_tls_jumps_lower_t1_and_shift_the_frequency():
    profile = DeviceProfile(tls_rate=2.0, coherence_log_std=0.0, frequency_diffusion=0.0)
    model = DeviceModel(50, seed=4, profile=profile)
    base = model.truth_at(0.0)
    hits = 0
    for t in np.arange(60.0, 7200.0, 60.0):
        truth = model.truth_at(t)
        active = truth.tls_active
        hits += active.sum()
        assert np.allclose(truth.t1[active], profile.tls_t1_factor * base.t1[active])
        assert np.allclose(truth.t1[~active], base.t1[~active])
        assert np.all(truth.frequency[active] != base.frequency[active])
    assert hits > 0


def test_frozen_device_does_not_drift():
    model = DeviceModel(5, seed=1, drift=False)
    assert same(model.truth_at(0.0), model.truth_at(1e5))


def test_coherence_times_stay_physical():
    model = DeviceModel(200, seed=9)
    for t in (0.0, 7200.0):
        tr = model.truth_at(t)
        assert np.all(tr.t2_star <= tr.t2_echo) and np.all(tr.t2_echo <= 2 * tr.t1)


def test_drift_rebuilds_the_qpu_circuit_and_raises_errors_over_time(make_lab):
    lab = make_lab(distance=3, seed=6, shots_per_block=64)
    qpu = lab.station.components["qpu"]
    first = qpu.circuit()
    errors0 = qpu.error_rates()
    qpu.acquire_block()
    assert qpu.sim_time() == pytest.approx(64 * qpu.shot_duration())
    qpu.advance_clock(2 * 3600.0)  # two hours with the calibration left alone
    assert qpu.circuit() != first
    errors1 = qpu.error_rates()
    # Uncorrected frequency drift adds dephasing on average.
    assert errors1.idle[:, 2].mean() > errors0.idle[:, 2].mean()
    # Recalibrating to the new truth takes the coherent part away again.
    qpu.calibrate_perfectly()
    settings = qpu.settings()
    assert np.allclose(settings.drive_frequency, qpu.truth().frequency, atol=1e-3)


def test_sim_clock_modes():
    clock = SimClock()
    clock.spend(1.0)
    clock.advance(2.0)
    assert clock.now() == 3.0
    wall = iter([10.0, 12.0, 12.0]).__next__
    live = SimClock(speedup=60.0, wall=wall)
    live.spend(5.0)  # the device's busy time is already inside wall time
    assert live.now() == 120.0
    live.advance(30.0)
    assert live.now() == 150.0
    with pytest.raises(ConfigError):
        SimClock(speedup=-1.0)
    with pytest.raises(ValueError):
        clock.advance(-1.0)

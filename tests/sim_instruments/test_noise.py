"""QEC noise follows calibration: miscalibrating a qubit raises its detectors' rate and the
logical error rate against the calibrated device on the same seed; recalibrating restores them."""

from __future__ import annotations

import numpy as np
import pymatching
import pytest
import stim

from qplane.sim_instruments.device import DeviceModel, DeviceProfile
from qplane.sim_instruments.noise import (
    NoisyCircuitTemplate,
    Settings,
    compose,
    idle_channel,
    qubit_error_rates,
)

SHOTS = 100_000


def run_block(qpu, matcher, near, far):
    """One block: (detection rate near the qubit, far from it, logical error rate)."""
    block = qpu.acquire_block()
    dets = np.unpackbits(block.detection_events, axis=1, bitorder="little")
    dets = dets[:, :block.num_detectors].astype(bool)
    pred = matcher.decode_batch(block.detection_events, bit_packed_shots=True,
                                bit_packed_predictions=True)
    result = qpu.apply_correction(block.index, pred)
    return dets[:, near].mean(), dets[:, far].mean(), result.failures / result.shots


def setup(lab):
    qpu = lab.station.components["qpu"]
    circuit = qpu.decoding_circuit()
    matcher = pymatching.Matching.from_detector_error_model(
        circuit.detector_error_model(decompose_errors=True))
    layout = qpu.layout
    centre = next(i for i, r in enumerate(layout.roles)
                  if r == "data" and layout.coords[i] == (3.0, 3.0))
    coords = circuit.get_detector_coordinates()
    xy = np.array([coords[k][:2] for k in sorted(coords)])
    dist = np.hypot(xy[:, 0] - 3.0, xy[:, 1] - 3.0)
    # Near: the stabilizers the qubit belongs to. Far: beyond the stabilizers that share a
    # qubit with those (errors on their ancillas spread that far through the CX sequence).
    return qpu, matcher, layout.names[centre], dist < 1.5, dist > 3.0


def sigma_diff(p, q, n=SHOTS):
    return np.sqrt(p * (1 - p) / n + q * (1 - q) / n)


@pytest.mark.parametrize("basis, control, change", [
    ("Z", "pi_amplitude", lambda v: 1.10 * v),          # amplitude 10 % too high
    ("X", "drive_frequency", lambda v: v - 50e3),       # drive 50 kHz below the qubit
])
def test_miscalibration_raises_detection_and_logical_error_and_recalibration_restores(
        make_lab, basis, control, change):
    def measure(miscalibrate):
        lab = make_lab(distance=3, basis=basis, seed=3, drift=False, shots_per_block=SHOTS)
        qpu, matcher, qubit, near, far = setup(lab)
        good = lab.controls.get(control, qubit)
        if miscalibrate:
            lab.controls.set(control, qubit, change(good))
        out = run_block(qpu, matcher, near, far)
        errors = qpu.error_rates()
        if miscalibrate:  # recalibrate the same device and run again
            lab.controls.set(control, qubit, good)
            restored = run_block(qpu, matcher, near, far)
            lab.close()
            return out, errors, restored, qpu
        lab.close()
        return out, errors, None, qpu

    (near_ok, far_ok, ler_ok), errors_ok, _, _ = measure(False)
    (near_bad, far_bad, ler_bad), errors_bad, restored, _ = measure(True)
    n_near = SHOTS * 6  # a handful of detectors around the qubit; a conservative count
    assert near_bad - near_ok > 5 * sigma_diff(near_ok, near_bad, n_near), (near_ok, near_bad)
    assert abs(far_bad - far_ok) < 0.2 * (near_bad - near_ok), (far_ok, far_bad)  # local
    assert ler_bad - ler_ok > 3 * sigma_diff(ler_ok, ler_bad), (ler_ok, ler_bad)
    assert not np.allclose(errors_bad.idle, errors_ok.idle)  # the data qubit's round channel
    near_re, _, ler_re = restored
    assert abs(near_re - near_ok) < 4 * sigma_diff(near_ok, near_re, n_near)
    assert abs(ler_re - ler_ok) < 4 * sigma_diff(ler_ok, ler_re)


def test_recalibration_restores_the_exact_noise(make_lab):
    lab = make_lab(distance=3, seed=5, drift=False)
    qpu = lab.station.components["qpu"]
    before = qpu.error_rates()
    circuit_before = qpu.circuit()
    assert qpu.layout.roles[0] == "data"
    good = lab.controls.get("pi_amplitude", "q0")
    lab.controls.set("pi_amplitude", "q0", 0.9 * good)
    worse = qpu.error_rates()
    assert worse.idle[0].sum() > before.idle[0].sum()  # its CX-target pulses over-rotate
    assert np.array_equal(worse.idle[1:], before.idle[1:])  # only q0 changed
    assert np.array_equal(worse.measure, before.measure)
    lab.controls.set("pi_amplitude", "q0", good)
    assert qpu.circuit() == circuit_before


@pytest.mark.parametrize("control, delta", [
    ("readout_threshold", 0.15), ("readout_angle", 0.5)])
def test_readout_miscalibration_raises_measurement_flips(make_lab, control, delta):
    lab = make_lab(distance=3, seed=5, drift=False)
    qpu = lab.station.components["qpu"]
    before = qpu.error_rates().measure.copy()
    value = lab.controls.get(control, "q2")
    lab.controls.set(control, "q2", value - delta if value > 0 else value + delta)
    after = qpu.error_rates().measure
    assert after[2] > 2 * before[2]
    assert np.array_equal(np.delete(after, 2), np.delete(before, 2))


@pytest.mark.parametrize("distance, basis", [(3, "Z"), (5, "X"), (7, "Z")])
def test_per_qubit_circuit_keeps_stims_detectors(distance, basis):
    template = NoisyCircuitTemplate(distance=distance, rounds=4, basis=basis)
    truth = DeviceModel(len(template.layout.names), seed=1).truth_at(0.0)
    errors = qubit_error_rates(truth, Settings.calibrated(truth), DeviceProfile())
    noisy = template.render(errors)
    reference = stim.Circuit.generated(f"surface_code:rotated_memory_{basis.lower()}",
                                       distance=distance, rounds=4,
                                       after_clifford_depolarization=0.001)
    assert noisy.get_detector_coordinates() == reference.get_detector_coordinates()
    assert noisy.num_observables == 1
    # Same noise locations as stim's uniform model: every qubit of every gate gets a channel.
    assert noisy.without_noise() == reference.without_noise()
    noisy.detector_error_model(decompose_errors=True)  # graph-like: PyMatching can use it


def test_calibrated_noise_is_physical_and_typical():
    template = NoisyCircuitTemplate(distance=5, rounds=5, basis="Z")
    truth = DeviceModel(len(template.layout.names), seed=2).truth_at(0.0)
    e = qubit_error_rates(truth, Settings.calibrated(truth), DeviceProfile())
    assert np.all((e.idle >= 0) & (e.idle < 0.02))
    assert 0.002 < e.idle.sum(1).mean() < 0.02  # T1/T2 idling over a ~0.9 us round
    assert 0.003 < e.measure.mean() < 0.02  # ~1 % readout
    assert np.all(e.h.sum(1) < 2e-3)  # calibrated single-qubit gates
    # Amplitude error is an over-rotation: sin^2(pi/4 * eps) per pi/2 pulse.
    s = Settings.calibrated(truth)
    s_bad = Settings(s.drive_frequency, s.pi_amplitude * 1.1, s.readout_angle,
                     s.readout_threshold)
    e_bad = qubit_error_rates(truth, s_bad, DeviceProfile())
    extra = e_bad.h[:, 1] - e.h[:, 1]
    assert np.allclose(extra, np.sin(np.pi / 4 * 0.1) ** 2, rtol=0.05)


def test_idle_and_composition_formulas():
    px, py, pz = idle_channel(2e-6, np.array([50e-6]), np.array([40e-6]), np.array([0.0]))[0]
    assert px == pytest.approx((1 - np.exp(-2 / 50)) / 4)
    assert px + pz == pytest.approx((1 - np.exp(-2 / 40)) / 2)
    # A detuning is a Z rotation by 2 pi df t: twirled, a Z flip of sin^2(pi df t).
    detuned = idle_channel(1e-6, np.array([1.0]), np.array([1.0]), np.array([100e3]))[0]
    assert detuned[2] == pytest.approx(np.sin(np.pi * 0.1) ** 2, rel=1e-5)
    x = np.array([0.1, 0.0, 0.0])
    assert compose(x, x) == pytest.approx([0.18, 0.0, 0.0])  # two X flips cancel
    assert compose(x, np.array([0.0, 0.0, 0.1])) == pytest.approx([0.09, 0.01, 0.09])


def test_calibrated_device_is_below_threshold(make_lab):
    """A larger patch protects better: logical error per round falls from d = 3 to d = 5."""
    per_round = {}
    for d in (3, 5):
        lab = make_lab(distance=d, seed=7, drift=False, shots_per_block=20_000)
        qpu = lab.station.components["qpu"]
        matcher = pymatching.Matching.from_detector_error_model(
            qpu.decoding_circuit().detector_error_model(decompose_errors=True))
        block = qpu.acquire_block()
        pred = matcher.decode_batch(block.detection_events, bit_packed_shots=True,
                                    bit_packed_predictions=True)
        result = qpu.apply_correction(block.index, pred)
        ler = result.failures / result.shots
        per_round[d] = 1 - (1 - 2 * ler) ** (1 / d) if ler < 0.5 else 0.5
        lab.close()
    assert 0.001 < per_round[5] < 0.75 * per_round[3] < 0.02, per_round

"""The syndrome-triggered check fires on the drifting qubit's region and not elsewhere."""

import numpy as np
import pytest

from qplane.calibration.backend import StationBackend
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.syndrome import Regions, SyndromeMonitor, region_counts
from qplane.calibration.worker import CalibrationWorker
from qplane.drivers import open_station
from qplane.sim_instruments.lab import sim_lab_config


@pytest.fixture
def lab():
    lab = open_station(sim_lab_config(distance=3, seed=11, drift=False, shots_per_block=2048),
                       simulate=True)
    yield lab
    lab.close()


def _blocks(qpu, n):
    for _ in range(n):
        block = qpu.acquire_block()
        qpu.apply_correction(block.index, np.zeros((block.detection_events.shape[0], 1),
                                                   dtype=np.uint8))
        yield block.detection_events


def _monitor(qpu):
    regions = Regions.from_circuit(qpu.circuit(), qpu.layout)
    monitor = SyndromeMonitor(regions, window=8192, baseline_shots=16384)
    for events in _blocks(qpu, 8):
        assert monitor.update(events) == []
    assert monitor.baseline is not None
    return regions, monitor


def test_calibrated_device_fires_nothing(lab):
    qpu = lab.station.components["qpu"]
    _, monitor = _monitor(qpu)
    fired = [t for events in _blocks(qpu, 8) for t in monitor.update(events)]
    assert fired == []


def test_detuned_data_qubit_fires_only_its_regions(lab):
    qpu = lab.station.components["qpu"]
    regions, monitor = _monitor(qpu)
    drifting = "q6"
    lab.controls.set("drive_frequency", drifting,
                     lab.controls.get("drive_frequency", drifting) + 100e3)
    fired = [t for events in _blocks(qpu, 4) for t in monitor.update(events)]
    assert fired, "no region fired"
    assert all(drifting in t.qubits for t in fired), [t.region for t in fired]
    assert SyndromeMonitor.suspects(fired)[0] == drifting
    quiet = [r for r in regions.names if drifting not in regions.qubits[r]]
    assert quiet and not {t.region for t in fired} & set(quiet)


def test_region_counts_report_matches_raw_events(lab):
    qpu = lab.station.components["qpu"]
    regions, monitor = _monitor(qpu)
    other = SyndromeMonitor(regions)
    other.set_baseline(monitor.baseline)
    third = SyndromeMonitor(regions)
    third.set_baseline(monitor.baseline)
    monitor.clear()
    d = len(regions.detector_region)
    for events in _blocks(qpu, 4):
        a = monitor.update(events)
        b = other.update_counts(region_counts(regions, events), len(events))
        per_detector = np.unpackbits(events, axis=1, bitorder="little")[:, :d].sum(axis=0)
        c = third.update_detector_counts(per_detector, len(events))
        assert [t.region for t in a] == [t.region for t in b] == [t.region for t in c]
    np.testing.assert_allclose(monitor.rates(), other.rates())
    np.testing.assert_allclose(monitor.rates(), third.rates())


def test_worker_triages_the_drifting_qubit_and_fixes_it(lab):
    qpu = lab.station.components["qpu"]
    backend = StationBackend.from_lab(lab)
    graph = CalibrationGraph.default(backend, _ledger(backend))
    regions, monitor = _monitor(qpu)
    qubits = qpu.qubits()
    for q in qubits:
        graph.mark_calibrated(q)
    worker = CalibrationWorker(graph, qubits, monitor=monitor, maintain=False)
    true_f = float(qpu.truth().frequency[qpu.layout.index("q6")])
    before = {q: lab.controls.get("drive_frequency", q) for q in qubits}
    lab.controls.set("drive_frequency", "q6", true_f + 100e3)
    with worker:
        for events in _blocks(qpu, 4):
            worker.report(events)
            worker.step()
    assert worker.stats["triggers"] >= 1 and worker.stats["triaged"] >= 1
    assert abs(lab.controls.get("drive_frequency", "q6") - true_f) < 5e3
    changed = {c.qubit for c in graph.ledger.history}
    assert changed == {"q6"}
    assert all(lab.controls.get("drive_frequency", q) == before[q] for q in qubits if q != "q6")


def _ledger(backend):
    from qplane.calibration.updates import SettingsLedger
    return SettingsLedger(backend, clock=backend.now)  # bounded by the lab's qplane.controls

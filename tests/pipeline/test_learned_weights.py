"""``weights: learned`` in the closed loop: the workers learn the noise and swap between blocks.

A real pipeline (launcher, instrument server, two decoding workers, recorder) runs a d = 3 device
whose true noise (``noise_model: device``) differs from the nominal model. Each worker learns
from its own blocks and swaps models several times; the run file then holds every model
(``/noise/models``), every block's noise-model version, and the predictions. Decoding each
block offline with the model the file says decoded it gives exactly the recorded predictions;
the models round-trip through the file.
"""

from __future__ import annotations


import numpy as np
import pytest
import yaml

from qplane.config import load_config
from qplane.pipeline.launcher import run_pipeline
from qplane.runfile import open_run

pytestmark = pytest.mark.slow


def _config(folder, decoder: str):
    from qplane.sim_instruments.lab import sim_lab_config

    cfg = sim_lab_config(distance=3, rounds=3, seed=3, physical_error_rate=0.004,
                         shots_per_block=500, drift=False)
    cfg["qplane"].update({
        "run": {"output_dir": str(folder / "runs"), "duration": None},
        "acquisition": {"shots_per_block": 500, "max_in_flight": 4, "correction_timeout": 20.0},
        "decoding": {"workers": 2, "decoder": {"type": decoder, "weights": "learned"},
                     "shadow_fraction": 0.5,
                     "noise": {"window_shots": 3000, "refresh_shots": 2000, "min_shots": 2000,
                               "groups": 4}}})
    path = folder / "learned.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return load_config(path)


@pytest.mark.parametrize("decoder", ["pymatching-correlated"])
def test_blocks_after_a_swap_decode_as_offline_with_the_stored_model(tmp_path, decoder):
    from qplane.decoder import make_decoder

    out = tmp_path / "run.h5"
    outcome = run_pipeline(_config(tmp_path, decoder), out_path=str(out), duration=None,
                           max_blocks=40)
    assert (outcome.end_state, outcome.exit_code) == ("completed", 0)
    with open_run(out) as run:
        models = run.noise_models
        table = run.noise_table
        blocks = run.blocks
        circuit = run.circuit()
        assert len(models) >= 4 and set(table["worker"]) == {"decoder-0", "decoder-1"}
        versions = blocks["noise_version"].to_numpy()
        assert versions.max() >= 2 and (versions == 0).any()
        by_key = {(w, v): m for w, v, m in zip(table["worker"], table["version"], models)}
        for m, h in zip(models, table["model_hash"]):
            assert m.hash == h  # the stored arrays rebuild the very model that was hashed
        nominal_dem = circuit.detector_error_model(decompose_errors=True)
        compiled: dict = {}
        for _, row in blocks[blocks["applied"]].iterrows():
            key = (row["worker"], int(row["noise_version"]))
            if key not in compiled:
                dem = nominal_dem if key[1] == 0 else by_key[key].to_dem()
                compiled[key] = make_decoder(decoder).compile_decoder_for_dem(dem=dem)
            start, stop = int(row["shot_start"]), int(row["shot_start"] + row["shots"])
            dets = run.read_shots("detection_events", start, stop)
            want = run.read_shots("predictions", start, stop)
            got = compiled[key].decode_shots_bit_packed(bit_packed_detection_event_data=dets)
            np.testing.assert_array_equal(got, want)
        # the shadow decoder keeps the nominal model: after swaps it disagrees sometimes
        late = blocks[blocks["noise_version"] > 0]
        assert late["shadow_shots"].sum() > 0

"""neural-soft: the network gates shots to Tesseract on the DEM's sites, with per-shot priors."""

import numpy as np
import pytest

from qplane.codes import memory_circuit
from qplane.config import NeuralSoftOptions, validate_section
from qplane.decoder.labels import SiteMap, mechanism_classes
from qplane.decoder.registry import make_decoder
from qplane.decoder.site_priors import PRIOR_CEILING, PRIOR_FLOOR, SitePriorTesseract, blend_priors
from qplane.decoder.volume import SyndromeGeometry
from qplane.errors import ConfigError

pytest.importorskip("tesseract_decoder")


def _dem(p=0.005):
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=p)
    return circuit, circuit.detector_error_model(decompose_errors=True)


def _sites(dem):
    geometry = SyndromeGeometry.from_dem(dem)
    return SiteMap.from_dem(dem, geometry, mechanism_classes(dem, geometry))


def test_priors_are_never_negative_zero_nan_or_half():
    rng = np.random.default_rng(3)
    prior = np.concatenate([rng.uniform(0, 0.6, 50), [0.0, 0.5, 1e-30]])
    logits = np.concatenate([rng.normal(0, 40, (4, 50)),
                             np.array([[np.nan, np.inf, -np.inf]] * 4)], axis=1)
    for weight in (0.0, 0.3, 1.0):
        p = blend_priors(prior, logits, weight)
        assert p.shape == logits.shape
        assert np.all(np.isfinite(p)) and np.all(p >= PRIOR_FLOOR) and np.all(p <= PRIOR_CEILING)
        assert np.all(p > 0) and np.all(p < 0.5)


def test_site_tesseract_takes_the_dems_priors_or_each_shots_own():
    import tesseract_decoder.tesseract as tesseract

    circuit, dem = _dem(0.01)
    sites = _sites(dem)
    decoder = SitePriorTesseract(dem, sites, beam="short")
    assert np.all((decoder.site_prior > 0) & (decoder.site_prior < 0.5))
    events = circuit.compile_detector_sampler(seed=4).sample(12)
    rng = np.random.default_rng(5)
    priors = blend_priors(decoder.site_prior, rng.normal(-4, 3, (12, sites.num_sites)), 0.8)
    got = decoder.decode(events, priors)
    orders = decoder._config.det_orders
    for shot, p, mine in zip(events, priors, got):  # each shot: its own priors
        fresh = tesseract.TesseractConfig(decoder.site_dem(p), det_beam=15, beam_climbing=True,
                                          pqlimit=200_000, det_orders=orders).compile_decoder()
        assert bool(fresh.decode(shot)[0]) == bool(mine[0])
    # and going back to the DEM's priors gives the DEM's decoding again
    assert np.array_equal(decoder.decode(events), SitePriorTesseract(dem, sites, beam="short")
                          .decode(events))
    assert decoder.shots_with_priors == 12 and decoder.shots == 24


def test_the_combination_decodes_a_known_correctable_shot():
    circuit, dem = _dem()
    compiled = make_decoder("neural-soft", model="d3", device="cpu",
                            gate_fraction=1.0).compile_decoder_for_dem(dem=dem)
    sites = compiled.neural.sites
    events = np.zeros((3, dem.num_detectors), dtype=bool)
    # one weight-2 site (a single data-qubit error in the bulk) and one hyperedge site
    for row, site in ((1, int(np.flatnonzero(sites.site_weight == 2)[0])),
                      (2, int(np.flatnonzero(sites.site_weight >= 3)[0]))):
        events[row, sites.site_detectors[site].indices] = True
    expected = [0, int(sites.site_observables[np.flatnonzero(sites.site_weight == 2)[0]] & 1),
                int(sites.site_observables[np.flatnonzero(sites.site_weight >= 3)[0]] & 1)]
    predictions, gated = compiled.decode_events(events)
    assert gated.all()  # gate_fraction 1: every shot went to Tesseract
    assert (predictions[:, 0] & 1).tolist() == expected
    packed = np.packbits(events, axis=1, bitorder="little")
    assert np.array_equal(compiled.decode_shots_bit_packed(
        bit_packed_detection_event_data=packed), predictions)


def test_it_is_no_worse_than_correlated_matching_on_a_sample():
    circuit, dem = _dem(0.008)
    compiled = make_decoder("neural-soft", model="d3", device="cpu",
                            prior_weight=0.3).compile_decoder_for_dem(dem=dem)
    events, obs = circuit.compile_detector_sampler(seed=11).sample(400, separate_observables=True)
    predictions, gated = compiled.decode_events(events)
    correlated = compiled.neural.matching.decode_batch(events.astype(np.uint8),
                                                       enable_correlations=True)
    soft_errors = int(((predictions[:, 0] & 1).astype(bool) != obs[:, 0]).sum())
    matching_errors = int((correlated[:, 0].astype(bool) != obs[:, 0]).sum())
    assert soft_errors <= matching_errors + 2
    assert 0 < gated.sum() < len(events)
    assert compiled.shots == 400 and compiled.shots_gated == gated.sum()
    assert compiled.residual.shots_with_priors == gated.sum()  # prior_weight > 0: per shot


@pytest.mark.parametrize("options, key", [
    ({"gate_fraction": 1.5}, "options.gate_fraction"),
    ({"prior_weight": -0.1}, "options.prior_weight"),
    ({"residual": "bposd"}, "options.residual"),
    ({"beam": "wide"}, "options.beam"),
    ({"precision": "int8"}, "options.precision"),
    ({"sha256": "ab" * 32}, "options.sha256"),
])
def test_bad_options_are_config_errors(options, key):
    with pytest.raises(ConfigError) as info:
        make_decoder("neural-soft", **options)
    assert key in str(info.value)


def test_the_options_model_matches_the_constructor():
    import inspect

    from qplane.decoder.neural_soft import NeuralSoftDecoder

    signature = inspect.signature(NeuralSoftDecoder.__init__)
    params = {k: p.default for k, p in signature.parameters.items() if k != "self"}
    assert {k: f.default for k, f in NeuralSoftOptions.model_fields.items()} == params
    assert validate_section(NeuralSoftOptions, {"model": "d5", "gate_fraction": 0.1},
                            key="options").kwargs() == {"model": "d5", "gate_fraction": 0.1}


def test_a_config_names_it_and_its_mistakes_are_keyed():
    from pydantic import ValidationError

    from qplane.config.decoding import DecodingSettings

    d = DecodingSettings.model_validate({"decoder": {"type": "neural-soft", "options": {
        "model": "d5", "residual": "tesseract", "gate_fraction": 0.1}}})
    assert d.decoder.type == "neural-soft"
    assert d.decoder.options.kwargs() == {"model": "d5", "residual": "tesseract",
                                          "gate_fraction": 0.1}
    with pytest.raises(ValidationError, match="prior_weight"):
        DecodingSettings.model_validate({"decoder": {"type": "neural-soft",
                                                     "options": {"prior_weight": 2}}})
    with pytest.raises(ValidationError, match="threshold"):  # a neural-only option
        DecodingSettings.model_validate({"decoder": {"type": "neural-soft",
                                                     "options": {"threshold": 0.5}}})

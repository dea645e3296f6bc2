"""``neural-soft`` on the device's LEARNED noise, the rows ``qplane bench device_noise`` adds.

The neural decoder in its best form (:class:`~qplane.decoder.neural_soft.NeuralSoftDecoder`:
the shipped network gates the hard shots to Tesseract; correlated PyMatching decodes the rest)
compiled for a DEM learned from the device's training shots, so that its correlated matching,
its uncorrelated matching (one of the gate's disagreement checks), the gate's uncertainty
threshold (set on shots sampled from that DEM) and Tesseract's priors all use the learned
noise. The shipped network itself was trained on nominal noise. It decodes the first
``soft_shots`` test shots of a case, and each row is compared with nominal PyMatching (as every
row) and, on the same shots, with correlated PyMatching given the same learned DEM
(``vs_correlated``: the paired counts and McNemar's exact p). The network's logits are computed
once per case and shared by every learned DEM (they depend on the detection events only).

Options: the decoder bench's validation-chosen ``neural-soft`` options per distance
(:data:`qplane.bench.decoder.SOFT_OPTIONS`), checked on validation shots of the miscalibrated
device (seeds 60,000 / 70,000, never the bench's) before the bench's test shots were decoded
(docs/noise.md, "neural-soft on the learned noise").
"""

from __future__ import annotations

import time
from typing import Any

#: the learned DEMs ``neural-soft`` is compiled for (the bench's weights labels), when the case
#: learned them
SOFT_WEIGHTS = ("learned-pairwise-30k", "learned-pairwise-1000k", "learned-hybrid-30k",
                "learned-hybrid-1000k")
#: the devices it runs on (the issue's miscalibrated device, and the drifted one)
SOFT_DEVICES = ("miscalibrated", "drifted")


def soft_options(distance: int) -> dict[str, Any]:
    """``NeuralSoftDecoder`` keywords at ``distance`` beyond the network's (the decoder bench's).

    >>> from qplane.bench.decoder import SOFT_OPTIONS
    >>> soft_options(7) == SOFT_OPTIONS.get(7, {}) and soft_options(7) is not SOFT_OPTIONS.get(7)
    True
    """
    from qplane.bench.decoder import SOFT_OPTIONS

    return dict(SOFT_OPTIONS.get(distance, {}))


def soft_rows(distance: int, dems: list[tuple[str, Any]], dets, obs, *, ref, wrong_of: dict,
              num_detectors: int) -> list[dict[str, Any]]:
    """``neural-soft`` rows for every DEM of ``dems`` (``(weights label, dem)``) in
    :data:`SOFT_WEIGHTS`, on bit-packed ``dets`` / ``obs`` (a prefix of the case's test shots).

    ``ref``: nominal PyMatching's wrong shots on that prefix; ``wrong_of``: the case's
    ``"pymatching-correlated/LABEL"`` wrong shots (all the case's shots; the prefix is used).
    """
    import numpy as np

    from qplane.bench._cases import compare
    from qplane.bench.decoder import mcnemar, model_for
    from qplane.decoder.neural_soft import NeuralSoftDecoder

    n = len(dets)
    events = np.unpackbits(dets, axis=1, bitorder="little", count=num_detectors).astype(bool)
    logits, network_s = None, 0.0
    out = []
    for label, dem in dems:
        if label not in SOFT_WEIGHTS:
            continue
        compiled = NeuralSoftDecoder(model=model_for(distance), device="cpu",
                                     **soft_options(distance)).compile_decoder_for_dem(dem=dem)
        if logits is None:
            start = time.perf_counter()
            logits = compiled.neural.site_logits(events)
            network_s = time.perf_counter() - start
        start = time.perf_counter()
        pred, gated = compiled.decode_events(events, logits)
        seconds = time.perf_counter() - start
        wrong = np.any(pred != obs, axis=1)
        corr = wrong_of[f"pymatching-correlated/{label}"][:n]
        only_corr, only_this = int(np.sum(corr & ~wrong)), int(np.sum(wrong & ~corr))
        out.append(compare(
            f"neural-soft/{label}", wrong, ref, matcher="neural-soft", weights=label,
            model=model_for(distance), options=soft_options(distance),
            gated_fraction=float(gated.mean()), network_us_per_shot=network_s / n * 1e6,
            rest_us_per_shot=seconds / n * 1e6,
            vs_correlated={"correlated_errors": int(corr.sum()),
                           "only_correlated_wrong": only_corr, "only_this_wrong": only_this,
                           "mcnemar_p": mcnemar(only_corr, only_this)}))
    return out


def summarise_soft(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Per device and distance, both bases pooled, each ``neural-soft/LABEL`` against correlated
    PyMatching with the same learned DEM on the same shots: errors, the paired counts (summed
    over the bases' disjoint shots), McNemar's exact p and the LER ratio (correlated /
    neural-soft: above 1 is neural-soft better).

    >>> row = {"decoder": "neural-soft/learned-pairwise-30k", "shots": 100, "errors": 5,
    ...        "vs_correlated": {"correlated_errors": 10, "only_correlated_wrong": 6,
    ...                          "only_this_wrong": 1}}
    >>> s = summarise_soft([{"device": "miscalibrated", "distance": 5, "rows": [row]}])
    >>> s["miscalibrated_d5_learned-pairwise-30k"]["ratio"]
    2.0
    """
    from qplane.bench.decoder import mcnemar

    acc: dict[str, list[int]] = {}
    for c in cases:
        for r in c["rows"]:
            if not r["decoder"].startswith("neural-soft/") or "vs_correlated" not in r:
                continue
            key = f"{c['device']}_d{c['distance']}_{r['decoder'].split('/', 1)[1]}"
            v = r["vs_correlated"]
            a = acc.setdefault(key, [0, 0, 0, 0, 0])
            for i, x in enumerate((r["shots"], r["errors"], v["correlated_errors"],
                                   v["only_correlated_wrong"], v["only_this_wrong"])):
                a[i] += x
    return {k: {"shots": n, "errors": e, "correlated_errors": ce, "only_correlated_wrong": oc,
                "only_this_wrong": ot, "mcnemar_p": mcnemar(oc, ot),
                "ratio": ce / e if e else None}
            for k, (n, e, ce, oc, ot) in sorted(acc.items())}

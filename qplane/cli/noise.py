"""``qplane noise learn|compare``: learn a device's noise model from what it recorded; compare two.

``qplane noise learn RUN.h5`` learns from a run file's detection events against the decoding
circuit it recorded; ``qplane noise learn SAMPLES --circuit C.stim`` (or ``--dem M.dem``) from a
stim sample file (b8, 01, ptb64, r8, hits: what ``stim detect`` or a lab's own control system
wrote). It prints a card (shots, window, estimator, guards, interval widths, how far from
nominal) and with ``--out learned.dem`` writes the learned detector error model, ready for
PyMatching, and ``learned.dem.json`` beside it (the model with its intervals).

``qplane noise compare A B`` compares two models (``.dem`` files, ``.json`` models from ``learn``,
or ``.stim`` circuits, whose decomposed DEM is taken), symptom by symptom.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from qplane.cli._help import plain


def register(subparsers: Any) -> None:
    """Add ``noise`` and its actions to the ``qplane`` command line."""
    noise = subparsers.add_parser("noise", help="learn a noise model from recorded syndromes; "
                                  "compare two", description=plain(__doc__),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = noise.add_subparsers(dest="noise_command", metavar="ACTION", required=True)
    learn = sub.add_parser("learn", help="learn every mechanism's probability from detection "
                           "events (a run file or a stim sample file)")
    learn.add_argument("source", metavar="RUN.h5|SAMPLES", help="run file or stim sample file")
    learn.add_argument("--circuit", help="the .stim circuit the samples were taken from")
    learn.add_argument("--dem", help="the .dem model the samples were taken from")
    learn.add_argument("--format", help="sample format (default: the file's suffix)")
    learn.add_argument("--append-observables", action="store_true",
                       help="each sample also holds the observables after the detectors")
    learn.add_argument("--estimator", choices=("full", "pairwise", "hybrid"), default="full",
                       help="full: every mechanism (default); pairwise: matching-graph edges; "
                            "hybrid: pairwise edge totals split by the full estimate")
    learn.add_argument("--no-shrink", action="store_true",
                       help="full estimator: the plain least-squares fit, without shrinking "
                            "each symptom class towards the pairwise solution by its interval")
    learn.add_argument("--prior", choices=("mixture", "normal"), default="mixture",
                       help="full / hybrid: the shrinkage's prior on each class's departure from "
                            "the pairwise value: two normal scales fitted by EM (default) or one")
    learn.add_argument("--start", type=int, default=0, help="run file: first shot")
    learn.add_argument("--stop", type=int, default=None, help="run file: stop before this shot")
    learn.add_argument("--min-shots", type=int, default=None, help="fewest shots to learn from")
    learn.add_argument("--out", help="write the learned DEM here (and OUT.json: the model)")
    learn.add_argument("--json", action="store_true", help="print the card as JSON")
    learn.set_defaults(func=_learn)
    cmp_ = sub.add_parser("compare", help="compare two noise models symptom by symptom")
    cmp_.add_argument("a", metavar="A", help=".dem, .json (from learn) or .stim")
    cmp_.add_argument("b", metavar="B", help=".dem, .json (from learn) or .stim")
    cmp_.add_argument("--json", action="store_true", help="print the comparison as JSON")
    cmp_.set_defaults(func=_compare)


def _learn(args: argparse.Namespace) -> int:
    from qplane.noise import MIN_SHOTS, learn_noise, read_samples

    kw: dict[str, Any] = {}
    if args.circuit:
        kw["circuit"] = args.circuit
    if args.dem:
        kw["dem"] = args.dem
    if args.format:
        kw["format"] = args.format
    if args.append_observables:
        kw["append_observables"] = True
    if str(args.source).endswith((".h5", ".hdf5")):
        kw.update(start=args.start, stop=args.stop)
    samples = read_samples(args.source, **kw)
    model = learn_noise(samples.detection_events, samples.dem, estimator=args.estimator,
                        min_shots=args.min_shots if args.min_shots is not None else MIN_SHOTS,
                        window=samples.window, source=samples.source,
                        shrink=not args.no_shrink, prior=args.prior)
    card = model.card()
    card["source"], card["format"] = samples.source, samples.format
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(str(model.to_dem()) + "\n")
        with open(args.out + ".json", "w", encoding="utf-8") as f:
            json.dump(model.to_dict(), f)
        card["written"] = [args.out, args.out + ".json"]
    if args.json:
        print(json.dumps(card, indent=2))
        return 0
    r = card["ratio_to_nominal"]
    lines = [
        f"learned noise model {card['hash']} ({card['estimator']} estimator)",
        f"  from      {samples.source} ({samples.format}), shots {card['shots']:,}, window "
        f"{card['window'][0]:,}..{card['window'][1]:,}",
        f"  nominal   {card['nominal_hash']}, {card['mechanisms']:,} mechanisms",
        f"  learned   {card['learned']:,}"
        + (f" ({card['reasons']['shrunk_to_pairwise']:,} shrunk to the pairwise value)"
           if card["reasons"].get("shrunk_to_pairwise") else "")
        + f"; kept nominal {card['kept_nominal']:,} ("
        + (", ".join(f"{k} {v}" for k, v in card["reasons"].items()
                     if k not in ("kept", "shrunk_to_pairwise")) or "none") + ")",
        f"  vs nominal: probability ratio median {r['median']:.2f} (5-95 %: {r['p05']:.2f} .. "
        f"{r['p95']:.2f}); total {card['total_probability']['learned']:.4g} vs "
        f"{card['total_probability']['nominal']:.4g}",
        f"  intervals: median 95 % width {card['relative_interval_width_median']:.0%} of the "
        f"estimate",
    ]
    if args.out:
        lines.append(f"  wrote     {args.out} (DEM) and {args.out}.json (model with intervals)")
    print("\n".join(lines))
    return 0


def _load(path: str):
    import stim

    from qplane.errors import QplaneError
    from qplane.noise import LearnedNoise, load_dem

    if path.endswith(".json"):
        try:
            with open(path, encoding="utf-8") as f:
                return LearnedNoise.from_dict(json.load(f)).to_dem()
        except (OSError, json.JSONDecodeError) as e:
            raise QplaneError(f"cannot read {path} as a learned model: {e}") from e
    dem = load_dem(path)
    return dem if isinstance(dem, stim.DetectorErrorModel) else dem


def _compare(args: argparse.Namespace) -> int:
    from qplane.noise import compare_models

    c = compare_models(_load(args.a), _load(args.b))
    if args.json:
        print(json.dumps(c, indent=2))
        return 0
    print(f"A {args.a}\nB {args.b}")
    print(f"  symptoms: {c['common']:,} in both, {c['only_a']:,} only in A, {c['only_b']:,} only "
          f"in B; total probability A {c['total_probability']['a']:.4g}, B "
          f"{c['total_probability']['b']:.4g}")
    if "ratio_b_over_a" in c:
        r = c["ratio_b_over_a"]
        print(f"  B/A probability ratio: median {r['median']:.3f}, 5-95 % {r['p05']:.3f} .. "
              f"{r['p95']:.3f}, range {r['min']:.3f} .. {r['max']:.3f}; mean |log ratio| "
              f"{c['mean_abs_log_ratio']:.3f}")
    d = c["detector_rates"]
    print(f"  detection rate per detector: A {d['mean_a']:.4f}, B {d['mean_b']:.4f} on average; "
          f"B/A median {d['median_ratio']:.3f}, max {d['max_ratio']:.3f}")
    return 0

"""Where a physicist starts with a qplane run file.

Opens a run, plots the three things people look at first (logical error rate over time,
detection-event rate over the patch, decoder latency), and exports the per-block table to CSV.

    python examples/analyse_run.py runs/20261126T120000Z_sim_d3.h5 --out analysis/

Without a run file it writes a small synthetic one first (real stim shots, real PyMatching),
so the example runs anywhere. Each step is plain pandas / xarray / matplotlib: copy what you need
into a notebook.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import matplotlib

matplotlib.use("Agg")  # files only; in a notebook, drop this line
import matplotlib.pyplot as plt  # noqa: E402

from qplane.analysis import (  # noqa: E402
    detection_statistics,
    latency,
    logical_error_rate,
    open_run,
    overall_logical_error_rate,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="run file (default: write a synthetic one)")
    parser.add_argument("--out", default=".", help="folder for the figures and the CSV")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    path = args.run
    if path is None:
        from qplane.analysis.synthetic import write_synthetic_run

        path = write_synthetic_run(os.path.join(tempfile.mkdtemp(), "example.h5"), blocks=30,
                                   shots_per_block=512)

    # 1. Open it. Nothing big is read yet: tables and shots load when asked for.
    with open_run(path) as run:
        print(run)
        summary = run.summary()
        print(f"{summary['shots']:,} shots in {summary['blocks']} blocks, decoder {run.decoder}, "
              f"d={summary['distance']}, state {summary['state']}")
        for problem in summary["problems"]:
            print("  !", problem)

        # 2. Logical error rate over time, with 95% Wilson intervals.
        ler = logical_error_rate(run, windows=10)
        total = overall_logical_error_rate(run)
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.errorbar(ler["time"], ler["rate"], yerr=[ler["rate"] - ler["lower"], ler["upper"] - ler["rate"]],
                    fmt="o-", capsize=2)
        ax.set_ylabel("logical error rate")
        ax.set_title(f"overall {total['rate']:.2e} [{total['lower']:.2e}, {total['upper']:.2e}]")
        fig.autofmt_xdate()
        fig.savefig(os.path.join(args.out, "logical_error_rate.png"), bbox_inches="tight")
        plt.close(fig)

        # 3. Detection-event rate per stabilizer, placed on the patch (an xarray Dataset).
        det = detection_statistics(run)
        fig, ax = plt.subplots(figsize=(4, 4))
        points = ax.scatter(det["stabilizer_x"], det["stabilizer_y"], c=det["stabilizer_rate"],
                            marker="s", s=600, cmap="viridis")
        fig.colorbar(points, label="detection events per shot per round")
        ax.invert_yaxis()
        ax.set_aspect("equal")
        fig.savefig(os.path.join(args.out, "detection_rate.png"), bbox_inches="tight")
        plt.close(fig)

        # 4. Latency from acquisition to applied correction, per block.
        lat = latency(run)["latency"]
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(lat["samples"] * 1e3, bins=40)
        ax.axvline(lat["p50"] * 1e3, ls="--", label=f"p50 {lat['p50'] * 1e3:.2f} ms")
        ax.axvline(lat["p99"] * 1e3, ls=":", label=f"p99 {lat['p99'] * 1e3:.2f} ms")
        ax.set_xlabel("latency (ms)")
        ax.legend()
        fig.savefig(os.path.join(args.out, "latency.png"), bbox_inches="tight")
        plt.close(fig)

        # 5. The per-block table (pandas) to CSV, for whatever comes next.
        csv = os.path.join(args.out, "blocks.csv")
        run.blocks.to_csv(csv)
        print(f"wrote {csv} and three figures to {args.out}")

        # Shot-level data, unpacked only for the blocks asked for:
        first = run.shots(blocks=slice(0, 1))
        print(f"first block: {first.sizes['shot']} shots x {first.sizes['detector']} detectors, "
              f"{int(first.detection_events.sum())} detection events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A figure per node run: the data, the fit and the chosen value, as PNG bytes.

Stored in the run file's ``/calibration/runs`` row and, when asked, written as PNG files next
to it (:class:`~qplane.calibration.record.CalibrationRecorder`).

>>> from qplane.calibration.synthetic import SyntheticBackend
>>> from qplane.calibration.nodes import RabiNode
>>> from qplane.calibration.run import run_node
>>> b = SyntheticBackend(seed=0)
>>> png = render_png(run_node(RabiNode(), "q0", b, b.ledger(), mode="check"))
>>> png[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

_UNITS = {"Hz": (1e-6, "MHz"), "s": (1e6, "µs"), "V": (1.0, "V")}
_KEY = {"spectroscopy": "frequency", "rabi": "pi_amplitude", "t1": "t1", "echo": "t2_echo",
        "resonator_spectroscopy": "frequency", "readout_frequency": "readout_frequency",
        "drag": "drag_beta", "cz": "cz_amplitude"}
#: The signal's meaning per experiment (default P(1)).
_SIGNAL = {"resonator_spectroscopy": "|S21|", "readout_fidelity_frequency": "assignment fidelity",
           "randomized_benchmarking": "P(1)"}


def render_png(run: Any, *, dpi: int = 110) -> bytes:
    """Render ``run`` (a :class:`~qplane.calibration.run.NodeRun`) as a small PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2, 2.8), dpi=dpi)
    ax = fig.add_subplot(1, 1, 1)
    data = run.data
    title = f"{run.node} {run.qubit} ({run.mode}): {run.outcome.value}"
    if data is None:
        ax.text(0.5, 0.5, run.reason[:80], ha="center", va="center", wrap=True, fontsize=7)
    elif data.iq0 is not None:
        ax.plot(data.iq0.real, data.iq0.imag, ".", ms=1, alpha=0.4, label="|0⟩")
        ax.plot(data.iq1.real, data.iq1.imag, ".", ms=1, alpha=0.4, label="|1⟩")
        if run.analysis is not None and np.isfinite(run.analysis.values.get("angle", np.nan)):
            a, t = run.analysis.values["angle"], run.analysis.values["threshold"]
            d = np.exp(1j * a)
            p = t * d + np.array([-3, 3]) * 1j * d
            ax.plot(p.real, p.imag, "k-", lw=1, label="threshold")
        ax.set_xlabel("I")
        ax.set_ylabel("Q")
        ax.legend(fontsize=6, markerscale=5)
    else:
        scale, unit = _UNITS.get(data.sweep_unit, (1.0, data.sweep_unit))
        x = np.asarray(data.sweep)
        x0 = float(np.mean(x)) if data.sweep_unit == "Hz" else 0.0
        ax.plot((x - x0) * scale, data.signal, "o", ms=2.5, label="data")
        fit = getattr(run.analysis, "fit", None)
        if fit is not None and getattr(fit, "converged", False):
            xx = np.linspace(x.min(), x.max(), 400)
            ax.plot((xx - x0) * scale, fit.evaluate(xx), "-", lw=1, label="fit")
            key = _KEY.get(run.node)
            if key in run.analysis.values:
                v = run.analysis.values[key]
                ax.axvline((v - x0) * scale, color="k", ls="--", lw=0.8,
                           label=f"{key} = {v * scale if unit != 'MHz' else v / 1e9:.6g}"
                                 f"{' GHz' if unit == 'MHz' else ' ' + unit}")
        ax.set_xlabel(f"sweep ({unit}{' from centre' if x0 else ''})" if unit else
                      {"drag": "DRAG coefficient", "randomized_benchmarking":
                       "sequence length (Cliffords)"}.get(data.kind.value, "sweep"))
        ax.set_ylabel(_SIGNAL.get(data.kind.value, "P(1)"))
        ax.legend(fontsize=6)
    note = [f"{c.control}: {c.old:.10g} → {c.new:.10g}" for c in run.changes]
    if not note and run.analysis is not None:
        note = [f"{k} = {v:.6g}" for k, v in list(run.analysis.values.items())[:2]]
    if note:
        ax.text(0.02, 0.02, "\n".join(note), transform=ax.transAxes, fontsize=6,
                va="bottom", bbox={"facecolor": "white", "alpha": 0.7, "lw": 0})
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()

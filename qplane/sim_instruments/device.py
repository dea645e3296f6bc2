"""The simulated device's true physics: per-qubit parameters, and how they drift.

Every physical qubit of the patch (data and ancilla) has a *true* state, :class:`TruthState`:
frequency ``f_q``, π-pulse amplitude ``a_π``, ``T1``, ``T2*`` (Ramsey), ``T2E`` (Hahn echo),
the readout response (IQ blob centres ``c0``, ``c1`` and their width ``σ``) and a residual
excited population after reset. The lab never sees it; it sees only what experiments return.

Fabrication (one draw per seed): ``f_q`` uniform in ``f_center ± f_spread``; ``a_π`` uniform in
``pi_amplitude_range``; ``T1`` and the pure-dephasing time ``Tφ`` log-normal around their medians;
``T2* = 1/(1/(2T1) + 1/Tφ)`` and ``T2E = 1/(1/(2T1) + 1/(k·Tφ))`` (an echo removes the slow part
of the dephasing noise, ``k = tphi_echo_factor``), so ``T2* ≤ T2E ≤ 2T1`` always; readout blobs
``|c1 − c0| = readout_separation`` at a random IQ angle, width ``readout_sigma``.

Drift (:class:`DeviceModel`) runs on the simulated clock in steps of ``drift_step`` seconds, and
the truth at time ``t`` is a function of the seed and ``floor(t / drift_step)`` only, so it is
reproducible however it is queried. Each step, per qubit, with exact Ornstein-Uhlenbeck updates
``x ← a·x + s·sqrt(1 − a²)·N(0, 1)``, ``a = exp(−dt/τ)`` (mean-reverting random walks that
look like free random walks over times ≪ τ; ``s = D·sqrt(τ/2)`` for diffusion ``D``):

* frequency offset: ``D = 20 kHz/√h``, ``τ = 12 h`` (stationary spread ≈ 50 kHz);
* relative π-amplitude offset: ``D = 1 %/√h``, ``τ = 12 h`` (electronics gain drift);
* ``ln T1`` and ``ln Tφ``: stationary spread 0.15, ``τ = 20 min`` (T1/T2 fluctuation);
* readout IQ angle: ``D = 0.02 rad/√h`` (cable phase drift), ``τ = 12 h``;
* two-level-system (TLS) defects: a qubit without one catches one with rate 0.2 /h; while it
  lasts (exponential, mean 15 min) its ``T1`` is 0.3× and its frequency is pushed by a
  ``N(0, 100 kHz)`` shift; then it recovers. These are the rare sudden jumps.

The readout resonator, the DRAG optimum and the CZ flux amplitude are drawn from a separate
stream (``[seed, 4]``, so the qubits above stay as they were): ``f_r`` uniform in
``resonator_frequency_center ± resonator_frequency_spread``, dispersive shift ``χ`` and
linewidth ``κ`` from the profile, the ideal DRAG coefficient ``β*`` uniform in
``drag_beta_range`` and the ideal CZ flux amplitude ``a*`` uniform in ``cz_amplitude_range``;
the CZ optimum follows the π amplitude's gain drift (one set of electronics).

The numbers are typical of current fixed-frequency transmons (``T1`` ~ 80 µs, ``T2*`` ~ 60 µs,
``T2E`` ~ 105 µs, qubits at 4.8–5.2 GHz, 25 ns single-qubit pulses, ~1 % readout error).

>>> model = DeviceModel(3, seed=7)
>>> a, b = model.truth_at(0.0), model.truth_at(3600.0)
>>> bool(np.all(a.t2_star <= a.t2_echo)) and bool(np.all(a.t2_echo <= 2 * a.t1))
True
>>> bool(np.all(a.frequency != b.frequency))
True
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from qplane.errors import ConfigError

_HOUR = 3600.0


@dataclasses.dataclass(frozen=True)
class DeviceProfile:
    """Typical transmon numbers the simulated device is drawn from (SI units).

    Every field can be overridden from the config (``profile:`` under the QPU's ``init``).
    """

    frequency_center: float = 5.0e9
    frequency_spread: float = 0.2e9
    pi_amplitude_range: tuple[float, float] = (0.25, 0.45)
    t1_median: float = 80e-6
    tphi_median: float = 100e-6
    coherence_log_spread: float = 0.2
    tphi_echo_factor: float = 3.0
    readout_separation: float = 1.0
    readout_sigma: float = 0.2
    residual_excited: float = 0.003
    # Durations.
    pulse_duration: float = 25e-9
    cz_duration: float = 40e-9
    readout_duration: float = 500e-9
    reset_duration: float = 160e-9
    repetition_time: float = 100e-6
    # Intrinsic error floors (what calibration cannot remove).
    gate_1q_floor: float = 2e-4
    cz_floor: float = 3e-3
    spectroscopy_rabi_frequency: float = 100e3
    # Readout resonator and tone (the optional readout controls).
    resonator_frequency_center: float = 7.0e9
    resonator_frequency_spread: float = 0.3e9
    dispersive_shift: float = 0.3e6  # chi: |1> moves the resonator down by 2 chi (< kappa/2)
    resonator_linewidth: float = 1.0e6  # kappa (full width)
    resonator_depth: float = 0.8
    readout_amplitude_nominal: float = 0.1  # tone amplitude at which the blobs separate by
    #                                         readout_separation (with readout_duration)
    readout_critical_amplitude: float = 0.3  # measurement-induced transitions set in
    readout_transition_rate: float = 0.05  # their probability at the critical amplitude
    # DRAG and CZ (the optional gate controls).
    drag_beta_range: tuple[float, float] = (0.3, 0.7)
    drag_phase_per_beta: float = 0.2  # rad of phase error per pulse per unit of beta mismatch
    cz_amplitude_range: tuple[float, float] = (0.15, 0.35)
    # Drift.
    drift_step: float = 1.0
    frequency_diffusion: float = 20e3  # Hz per sqrt(hour)
    frequency_tau: float = 12 * _HOUR
    amplitude_diffusion: float = 0.01  # relative, per sqrt(hour)
    amplitude_tau: float = 12 * _HOUR
    coherence_log_std: float = 0.15
    coherence_tau: float = 1200.0
    iq_angle_diffusion: float = 0.02  # rad per sqrt(hour)
    iq_angle_tau: float = 12 * _HOUR
    tls_rate: float = 0.2  # per qubit per hour
    tls_mean_duration: float = 900.0
    tls_t1_factor: float = 0.3
    tls_shift_std: float = 100e3

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            vs = v if isinstance(v, tuple) else (v,)
            if not all(isinstance(x, (int, float)) and math.isfinite(x) and x >= 0 for x in vs):
                raise ConfigError(f"must be a finite number >= 0, got {v!r}",
                                  key=f"profile.{f.name}")
        if self.drift_step <= 0:
            raise ConfigError("must be > 0", key="profile.drift_step")
        for name in ("t1_median", "tphi_median", "readout_sigma", "pulse_duration",
                     "frequency_tau", "amplitude_tau", "coherence_tau", "iq_angle_tau",
                     "tls_mean_duration", "tphi_echo_factor"):
            if getattr(self, name) <= 0:
                raise ConfigError("must be > 0", key=f"profile.{name}")

    @property
    def round_duration(self) -> float:
        """One syndrome round: two single-qubit layers, four CZ layers, readout and reset."""
        return (2 * self.pulse_duration + 4 * self.cz_duration + self.readout_duration
                + self.reset_duration)

    @classmethod
    def from_dict(cls, values: dict | None) -> DeviceProfile:
        """Build from a config mapping, naming any unknown key."""
        values = dict(values or {})
        names = {f.name for f in dataclasses.fields(cls)}
        for k in values:
            if k not in names:
                raise ConfigError(f"unknown profile field; allowed: {sorted(names)}",
                                  key=f"profile.{k}")
        for key in ("pi_amplitude_range", "drag_beta_range", "cz_amplitude_range"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class TruthState:
    """The true per-qubit parameters at one time; arrays of shape ``(num_qubits,)``."""

    frequency: np.ndarray
    pi_amplitude: np.ndarray
    t1: np.ndarray
    t2_star: np.ndarray
    t2_echo: np.ndarray
    iq0: np.ndarray  # complex
    iq1: np.ndarray  # complex
    iq_sigma: np.ndarray
    residual_excited: np.ndarray
    tls_active: np.ndarray  # bool
    resonator_frequency: np.ndarray  # f_r with the qubit in |0>
    dispersive_shift: np.ndarray
    resonator_linewidth: np.ndarray
    drag_beta: np.ndarray  # the ideal DRAG coefficient
    cz_amplitude: np.ndarray  # the ideal CZ flux amplitude
    step: int

    def qubit(self, i: int) -> dict[str, float]:
        """Qubit ``i``'s values as plain numbers (for reports and tests)."""
        return {f.name: (getattr(self, f.name)[i].item() if f.name != "step" else self.step)
                for f in dataclasses.fields(self)}


class DeviceModel:
    """Fabricated qubits plus their reproducible drift.

    Args:
        num_qubits: how many physical qubits.
        profile: the :class:`DeviceProfile` to draw from.
        seed: fixes fabrication and drift.
        drift: ``False`` freezes the truth at its fabricated values.
    """

    def __init__(self, num_qubits: int, *, profile: DeviceProfile | None = None, seed: int = 0,
                 drift: bool = True):
        self.num_qubits = int(num_qubits)
        self.profile = profile or DeviceProfile()
        self.seed = int(seed)
        self.drift = bool(drift)
        p, n = self.profile, self.num_qubits
        fab = np.random.default_rng([self.seed, 1])
        self._f0 = p.frequency_center + fab.uniform(-p.frequency_spread, p.frequency_spread, n)
        self._a0 = fab.uniform(*p.pi_amplitude_range, n)
        self._log_t1 = np.log(p.t1_median) + p.coherence_log_spread * fab.standard_normal(n)
        self._log_tphi = np.log(p.tphi_median) + p.coherence_log_spread * fab.standard_normal(n)
        self._iq_angle0 = fab.uniform(-np.pi, np.pi, n)
        self._iq_mid = 0.3 * (fab.standard_normal(n) + 1j * fab.standard_normal(n))
        more = np.random.default_rng([self.seed, 4])
        self._fr = p.resonator_frequency_center + more.uniform(
            -p.resonator_frequency_spread, p.resonator_frequency_spread, n)
        self._beta = more.uniform(*p.drag_beta_range, n)
        self._cz0 = more.uniform(*p.cz_amplitude_range, n)
        self._reset_drift()

    def _reset_drift(self) -> None:
        n = self.num_qubits
        self._rng = np.random.default_rng([self.seed, 2])
        self._step = 0
        self._df = np.zeros(n)
        self._da = np.zeros(n)
        self._dlog_t1 = np.zeros(n)
        self._dlog_tphi = np.zeros(n)
        self._dangle = np.zeros(n)
        self._tls = np.zeros(n, dtype=bool)
        self._tls_df = np.zeros(n)
        self._cache: TruthState | None = None

    def step_index(self, t: float) -> int:
        """The drift step that simulated time ``t`` falls in (0 when drift is off)."""
        if not self.drift:
            return 0
        return max(0, int(math.floor(t / self.profile.drift_step)))

    def truth_at(self, t: float) -> TruthState:
        """The true state at simulated time ``t`` (s)."""
        k = self.step_index(t)
        if k < self._step:
            self._reset_drift()
        while self._step < k:
            self._advance_one()
        if self._cache is None or self._cache.step != k:
            self._cache = self._truth()
        return self._cache

    def _advance_one(self) -> None:
        p, n, rng = self.profile, self.num_qubits, self._rng
        dt = p.drift_step

        def ou(x: np.ndarray, stationary: float, tau: float) -> np.ndarray:
            a = math.exp(-dt / tau)
            return a * x + stationary * math.sqrt(1 - a * a) * rng.standard_normal(n)

        def diffusion(d_per_sqrt_hour: float, tau: float) -> float:
            return d_per_sqrt_hour / math.sqrt(_HOUR) * math.sqrt(tau / 2)

        self._df = ou(self._df, diffusion(p.frequency_diffusion, p.frequency_tau),
                      p.frequency_tau)
        self._da = ou(self._da, diffusion(p.amplitude_diffusion, p.amplitude_tau),
                      p.amplitude_tau)
        self._dlog_t1 = ou(self._dlog_t1, p.coherence_log_std, p.coherence_tau)
        self._dlog_tphi = ou(self._dlog_tphi, p.coherence_log_std, p.coherence_tau)
        self._dangle = ou(self._dangle, diffusion(p.iq_angle_diffusion, p.iq_angle_tau),
                          p.iq_angle_tau)
        u = rng.random(n)
        start = ~self._tls & (u < p.tls_rate * dt / _HOUR)
        end = self._tls & (u < dt / p.tls_mean_duration)
        shifts = p.tls_shift_std * rng.standard_normal(n)
        self._tls_df = np.where(start, shifts, np.where(end, 0.0, self._tls_df))
        self._tls = (self._tls | start) & ~end
        self._step += 1

    def _truth(self) -> TruthState:
        p = self.profile
        t1 = np.exp(self._log_t1 + self._dlog_t1) * np.where(self._tls, p.tls_t1_factor, 1.0)
        tphi = np.exp(self._log_tphi + self._dlog_tphi)
        t2_star = 1.0 / (1.0 / (2 * t1) + 1.0 / tphi)
        t2_echo = 1.0 / (1.0 / (2 * t1) + 1.0 / (p.tphi_echo_factor * tphi))
        half = 0.5 * p.readout_separation * np.exp(1j * (self._iq_angle0 + self._dangle))
        n = self.num_qubits
        arrays = dict(
            frequency=self._f0 + self._df + self._tls_df,
            pi_amplitude=self._a0 * (1.0 + self._da),
            t1=t1, t2_star=t2_star, t2_echo=t2_echo,
            iq0=self._iq_mid - half, iq1=self._iq_mid + half,
            iq_sigma=np.full(n, p.readout_sigma),
            residual_excited=np.full(n, p.residual_excited),
            tls_active=self._tls.copy(),
            resonator_frequency=self._fr.copy(),
            dispersive_shift=np.full(n, p.dispersive_shift),
            resonator_linewidth=np.full(n, p.resonator_linewidth),
            drag_beta=self._beta.copy(),
            cz_amplitude=self._cz0 * (1.0 + self._da),
        )
        for v in arrays.values():
            v.flags.writeable = False
        return TruthState(step=self._step, **arrays)

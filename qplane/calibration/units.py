"""Units of calibration data: SI prefixes read on the way in, chosen on the way out.

Analysis works in SI base units (Hz, s, V, rad). A lab's data come in whatever its instruments
write — ``ns``, ``µs`` / ``us``, ``MHz``, ``GHz``, ``mV`` — so :func:`to_si` converts a unit
string into its base unit and factor, and :func:`format_value` prints a value with the prefix
that keeps its mantissa between 1 and 1000 (a 40 ns T1 prints ``40 ns``, never ``0.0 µs``).

>>> to_si("MHz")
('Hz', 1000000.0)
>>> to_si("us"), to_si("µs")[1] == to_si("us")[1]
(('s', 1e-06), True)
>>> format_value(4.2e-8, "s")
'42 ns'
>>> format_value(5.0123456e9, "Hz", digits=7)
'5.012346 GHz'
>>> format_value(1.5e3, "Hz", error=0.25e3)
'1.50 ± 0.25 kHz'
"""

from __future__ import annotations

import math

from qplane.errors import AnalysisError

#: SI prefix -> factor (both spellings of micro).
PREFIXES = {"T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "": 1.0, "m": 1e-3, "u": 1e-6,
            "µ": 1e-6, "μ": 1e-6, "n": 1e-9, "p": 1e-12}
#: Base units analysis knows (anything else may be named but not prefixed).
BASE_UNITS = ("Hz", "s", "V", "rad", "W", "A", "dB", "deg")
_OUT_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"),
                 (1e-9, "n"), (1e-12, "p"))


def to_si(unit: str | None) -> tuple[str, float]:
    """The base unit and the factor that turns values in ``unit`` into it.

    An empty unit (or ``None``) is dimensionless, factor 1. ``sec``/``secs`` are seconds,
    ``deg`` converts to radians.

    >>> to_si("GHz"), to_si("mV"), to_si(""), to_si("deg")[0]
    (('Hz', 1000000000.0), ('V', 0.001), ('', 1.0), 'rad')
    >>> to_si("furlong")
    Traceback (most recent call last):
    ...
    qplane.errors.AnalysisError: unknown unit 'furlong': use an SI unit with an optional prefix (Hz, s, V, rad; e.g. ns, µs, MHz, GHz, mV)
    """
    u = (unit or "").strip()
    if u in ("", "1", "a.u.", "au", "arb"):
        return "", 1.0
    aliases = {"sec": "s", "secs": "s", "seconds": "s", "second": "s", "volt": "V",
               "hz": "Hz", "degree": "deg", "degrees": "deg", "radian": "rad"}
    u = aliases.get(u, u)
    if u == "deg":
        return "rad", math.pi / 180
    for base in sorted(BASE_UNITS, key=len, reverse=True):
        if u.endswith(base) and u[: -len(base)] in PREFIXES:
            return base, PREFIXES[u[: -len(base)]]
        if u.lower().endswith(base.lower()) and u[: -len(base)] in PREFIXES and base == "Hz":
            return base, PREFIXES[u[: -len(base)]]
    raise AnalysisError(f"unknown unit {unit!r}: use an SI unit with an optional prefix "
                        "(Hz, s, V, rad; e.g. ns, µs, MHz, GHz, mV)")


def convert(values, unit: str | None, expected: str | None = None):
    """``values`` (array or float) in ``unit`` converted to SI; check the base is ``expected``.

    >>> convert(250.0, "ns", "s")
    2.5e-07
    >>> convert(1.0, "mV", "s")
    Traceback (most recent call last):
    ...
    qplane.errors.AnalysisError: the sweep is in 'mV' (V) but this analysis needs s; give the sweep's unit in s with any prefix (e.g. ns, µs)
    """
    base, factor = to_si(unit)
    if expected is not None and base not in ("", expected):
        examples = {"s": "ns, µs", "Hz": "MHz, GHz", "V": "mV, V"}.get(expected, expected)
        raise AnalysisError(f"the sweep is in {unit!r} ({base}) but this analysis needs "
                            f"{expected}; give the sweep's unit in {expected} with any prefix "
                            f"(e.g. {examples})")
    return values * factor if factor >= 1 else values / round(1 / factor)


def prefix_for(value: float) -> tuple[float, str]:
    """The factor and prefix that put ``|value|`` between 1 and 1000 (1 for 0 or non-finite).

    >>> prefix_for(3.2e-5), prefix_for(0.0)
    ((1e-06, 'µ'), (1.0, ''))
    """
    a = abs(value)
    if a == 0 or not math.isfinite(a):
        return 1.0, ""
    for factor, p in _OUT_PREFIXES:
        if a >= factor * 0.9995:
            return factor, p
    return _OUT_PREFIXES[-1]


def format_value(value: float, unit: str = "", *, error: float | None = None,
                 digits: int = 3) -> str:
    """``value`` (SI) with a sensible prefix; with ``error``, as ``v ± e`` to its precision.

    Dimensionless and angle values are printed without a prefix.

    >>> format_value(0.4123, "V", error=0.0021)
    '412.3 ± 2.1 mV'
    >>> format_value(float("nan"), "s")
    'nan s'
    """
    if not math.isfinite(value):
        return f"{value} {unit}".strip()
    prefixed = unit in ("Hz", "s", "V", "W", "A")
    factor, p = prefix_for(value if value else (error or 0.0)) if prefixed else (1.0, "")
    v = value / factor
    if error is None or not math.isfinite(error) or error <= 0:
        return f"{v:.{digits}g} {p}{unit}".strip() if error is None else \
            f"{v:.{digits}g} ± {error / factor if error is not None else 0:.2g} {p}{unit}".strip()
    e = error / factor
    # two significant digits of the error, the value to the same decimal place
    dec = max(0, 1 - int(math.floor(math.log10(e)))) if e > 0 else digits
    return f"{v:.{dec}f} ± {e:.{dec}f} {p}{unit}".strip()

"""Decoders by name, as configs and ``sinter collect`` refer to them."""

from __future__ import annotations

from typing import Any, Callable

from qplane.decoder.matching import PyMatchingDecoder
from qplane.decoder.protocol import Decoder
from qplane.errors import ConfigError


def _neural(**kw: Any) -> Decoder:
    # torch is imported only when a neural decoder is actually built, so validating a config
    # or starting a PyMatching worker does not pay for it.
    from qplane.decoder.neural import NeuralDecoder

    return NeuralDecoder(**kw)


def _neural_soft(**kw: Any) -> Decoder:
    from qplane.decoder.neural_soft import NeuralSoftDecoder

    return NeuralSoftDecoder(**kw)


#: Decoder type name -> factory taking the decoder's config options as keyword arguments.
DECODER_TYPES: dict[str, Callable[..., Decoder]] = {
    "pymatching": lambda **kw: PyMatchingDecoder(correlated=False, **kw),
    "pymatching-correlated": lambda **kw: PyMatchingDecoder(correlated=True, **kw),
    "neural": lambda **kw: _neural(correlated=False, **kw),
    "neural-correlated": lambda **kw: _neural(correlated=True, **kw),
    "neural-soft": _neural_soft,
}


def make_decoder(name: str, **options: Any) -> Decoder:
    """Build the decoder registered as ``name`` with its options.

    >>> make_decoder("pymatching").name
    'pymatching'
    """
    try:
        factory = DECODER_TYPES[name]
    except KeyError:
        raise ConfigError(
            f"unknown decoder {name!r}; known decoders: {', '.join(sorted(DECODER_TYPES))}"
        ) from None
    try:
        return factory(**options)
    except TypeError as e:
        raise ConfigError(f"bad options for decoder {name!r}: {e}") from e


def sinter_decoders() -> dict[str, Decoder]:
    """Every qplane decoder, by name, for ``sinter collect --custom_decoders_module_function``.

    Names are prefixed ``qplane-`` so they never shadow sinter's built-in ``pymatching``.

    >>> sorted(sinter_decoders())
    ['qplane-neural', 'qplane-neural-correlated', 'qplane-neural-soft', 'qplane-pymatching', 'qplane-pymatching-correlated']
    """
    return {f"qplane-{name}": make_decoder(name) for name in DECODER_TYPES}

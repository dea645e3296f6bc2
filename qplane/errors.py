"""The qplane error hierarchy.

Every error qplane raises on purpose derives from :class:`QplaneError`, so a caller can catch
"anything qplane refused" in one clause. Messages say what is wrong, then how to fix it.
"""

from __future__ import annotations


class QplaneError(Exception):
    """Base class of every error qplane raises on purpose."""


class ConfigError(QplaneError):
    """A configuration file is malformed or names something that does not exist.

    The message names the file, the key (as a dotted path) and what is allowed.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None):
        self.path = path
        self.key = key
        self.message = message
        #: Every mistake this error reports (one per line of the message); itself if one.
        self.errors: tuple[ConfigError, ...] = (self,)
        where = ""
        if path is not None:
            where = f"{path}: "
        if key is not None:
            where += f"'{key}': "
        super().__init__(where + message)

    @classmethod
    def combine(cls, errors: "list[ConfigError]") -> "ConfigError":
        """One error reporting several, one per line; ``path`` and ``key`` are the first's.

        >>> e = ConfigError.combine([ConfigError("a", path="c.yaml", key="x"),
        ...                          ConfigError("b", path="c.yaml", key="y")])
        >>> print(e)
        c.yaml: 'x': a
        c.yaml: 'y': b
        >>> len(e.errors), e.key
        (2, 'x')
        """
        if not errors:
            raise ValueError("ConfigError.combine needs at least one error")
        if len(errors) == 1:
            return errors[0]
        first, rest = errors[0], errors[1:]
        out = cls("\n".join([first.message, *map(str, rest)]), path=first.path, key=first.key)
        out.errors = tuple(e for err in errors for e in err.errors)
        return out


class WireFormatError(QplaneError):
    """A message on the wire failed validation (framing, header, schema version, payload)."""


class LimitError(QplaneError):
    """A value was refused because it lies outside an instrument's or qplane's limits.

    Nothing was sent to the instrument.
    """


class DecoderError(QplaneError):
    """A decoder was given data that does not fit its circuit, or could not be built."""


class ModelMismatchError(DecoderError):
    """A stored model does not fit the circuit it is asked to decode (structure differs)."""


class RunFileError(QplaneError):
    """A run file is missing, corrupt, or of a schema version this qplane cannot read."""


class PipelineError(QplaneError):
    """A pipeline process failed (died, stopped answering, or reported an error)."""


class SourceExhausted(QplaneError):
    """A finite data source (a replayed recording) has served every block it holds."""


class AnalysisError(QplaneError):
    """Data given to calibration analysis cannot be analysed as asked (shapes, units, kinds)."""

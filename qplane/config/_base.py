"""What every config section model shares: strict, frozen, no unknown keys.

A section is a pydantic model with ``extra="forbid"`` (an unknown key is an error, not
ignored), ``strict=True`` (YAML's ``"64"`` is not the integer 64; ``true`` is not 1) and
``frozen=True`` (a validated config is a value). A check that spans several keys raises
:class:`KeyedValueError` to name the key it is about.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base of every config section model."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              populate_by_name=False, validate_default=False)

    def given(self) -> dict[str, Any]:
        """The keys the file gave (by their names in the file), as plain data.

        >>> class S(Section):
        ...     a: int = 1
        ...     b: int = 2
        >>> S.model_validate({"b": 3}).given()
        {'b': 3}
        """
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class KeyedValueError(ValueError):
    """A validation failure about a key below the one being validated.

    Raised inside a model validator, it puts ``key`` (dotted, relative to the model) after the
    model's own key in the message.
    """

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key

"""Pydantic's validation errors in qplane's words: ``'dotted.key': what is allowed``.

:func:`validation_errors` turns each error of a :class:`pydantic.ValidationError` into a
``(dotted key, message)`` pair: the key as the file spells it (aliases, no union-member
labels), the message saying what is allowed and what the file has. :func:`validate_section`
validates one section and raises a :class:`~qplane.errors.ConfigError` naming every mistake.

>>> from qplane.config.pipeline import AcquisitionSettings
>>> validate_section(AcquisitionSettings, {"shots_per_block": 0, "max_in_flite": 2},
...                  key="qplane.acquisition")
Traceback (most recent call last):
...
qplane.errors.ConfigError: 'qplane.acquisition.shots_per_block': must be >= 1, got 0
'qplane.acquisition.max_in_flite': unknown key; allowed keys: correction_timeout, max_blocks, max_in_flight, shots_per_block
"""

from __future__ import annotations

import types
import typing
from typing import Any, Optional, TypeVar

from pydantic import BaseModel, Tag, ValidationError
from pydantic.fields import FieldInfo

from qplane.config._base import KeyedValueError
from qplane.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

_KINDS = {"int": "an integer", "float": "a number", "string": "a string", "bool": "true/false",
          "dict": "a mapping", "model": "a mapping", "model_attributes": "a mapping",
          "list": "a list", "tuple": "a list", "none": "null"}
_BOUNDS = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"),
           "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}


def validate_section(model: type[M], data: Any, *, key: str, path: str | None = None) -> M:
    """``model.model_validate(data)``, or a :class:`ConfigError` listing every mistake.

    Args:
        model: the section's model.
        data: the section as read from YAML (or already a ``model``).
        key: the section's dotted key (``qplane.controls``).
        path: the config file, for messages.
    """
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as e:
        issues = validation_errors(e, model, prefix=key)
        raise ConfigError.combine([ConfigError(m, path=path, key=k) for k, m in issues]) from None


def validation_errors(error: ValidationError, root: type[BaseModel], *,
                      prefix: str = "") -> list[tuple[str, str]]:
    """``[(dotted key, message)]`` for each error, keys under ``prefix``; union members merged."""
    issues: list[tuple[str, str]] = []
    union_kinds: dict[str, list[str]] = {}
    for err in error.errors(include_url=False):
        parts, model, field, in_union = _walk(root, err["loc"])
        extra, message = _message(err, model, field, top=not prefix and len(parts) == 1)
        key = ".".join(p for p in (prefix, *parts, *extra) if p)
        kind = _kind(err["type"])
        if in_union and kind is not None:
            if key not in union_kinds:
                union_kinds[key] = []
                issues.append((key, f"\0{_got(err)}"))
            union_kinds[key].append(kind)
            continue
        issues.append((key, message))
    out = []
    for key, message in issues:
        if message.startswith("\0"):
            kinds = union_kinds[key]
            message = f"must be {' or '.join(dict.fromkeys(kinds))}, got {message[1:]}"
        if (key, message) not in out:
            out.append((key, message))
    return out


def _kind(error_type: str) -> Optional[str]:
    for suffix in ("_type", "_parsing"):
        if error_type.endswith(suffix) and error_type[: -len(suffix)] in _KINDS:
            return _KINDS[error_type[: -len(suffix)]]
    if error_type == "none_required":
        return "null"
    return None


def _got(err: dict) -> str:
    return repr(err.get("input"))


def _message(err: dict, model: Optional[type[BaseModel]], field: Optional[FieldInfo], *,
             top: bool) -> tuple[tuple[str, ...], str]:
    """(key parts to append, message) for one pydantic error."""
    t, ctx = err["type"], err.get("ctx") or {}
    if t == "extra_forbidden":
        word = "top-level key" if top else "key"
        if model is not None and not model.model_fields:
            return (), f"unknown {word}; none is allowed here"
        allowed = ", ".join(sorted(_names(model))) if model is not None else "see the schema"
        return (), f"unknown {word}; allowed keys: {allowed}"
    if t == "missing":
        what = "section" if top else "key"
        doc = f" ({field.description})" if field is not None and field.description else ""
        return (), f"required {what} is missing{doc}"
    if t == "value_error":
        exc = ctx.get("error")
        extra = tuple(exc.key.split(".")) if isinstance(exc, KeyedValueError) else ()
        return extra, str(exc) if exc is not None else err["msg"]
    if t == "unknown_decoder":
        return ("type",), f"unknown decoder; known decoders: {ctx.get('known', '')}"
    if t in ("union_tag_invalid", "union_tag_not_found"):
        return (), f"unknown type; known: {ctx.get('expected_tags', '')}"
    kind = _kind(t)
    if kind is not None:
        return (), f"must be {kind}, got {_got(err)}"
    if t in _BOUNDS:
        op, name = _BOUNDS[t]
        return (), f"must be {op} {ctx.get(name)}, got {_got(err)}"
    if t == "literal_error":
        return (), f"must be one of {ctx.get('expected')}, got {_got(err)}"
    if t == "finite_number":
        return (), f"must be a finite number, got {_got(err)}"
    if t == "string_pattern_mismatch":
        return (), f"must match the pattern {ctx.get('pattern')!r}, got {_got(err)}"
    if t in ("too_short", "too_long"):
        bound = "at least" if t == "too_short" else "at most"
        n = ctx.get("min_length" if t == "too_short" else "max_length")
        return (), f"must have {bound} {n} items, got {_got(err)}"
    return (), f"{err['msg'][:1].lower()}{err['msg'][1:]}, got {_got(err)}"


def _names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """(the type without ``Annotated``, its metadata)."""
    meta: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *more = typing.get_args(annotation)
        meta.extend(more)
    return annotation, meta


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _walk(root: type[BaseModel], loc: tuple) -> tuple[list[str], Optional[type[BaseModel]],
                                                     Optional[FieldInfo], bool]:
    """Follow ``loc`` through the model tree.

    Returns the key parts as the file spells them, the model holding the last key, that key's
    field, and whether the error is one member's of a (non-discriminated) union.
    """
    parts: list[str] = []
    annotation: Any = root
    model: Optional[type[BaseModel]] = None
    field: Optional[FieldInfo] = None
    in_union = False
    for element in loc:
        annotation, _ = _strip(annotation)
        while _is_union(annotation):
            members = [m for m in typing.get_args(annotation) if m is not type(None)]
            if len(members) == 1:  # Optional[X]: no label in the loc
                annotation, _ = _strip(members[0])
                continue
            chosen = None
            for m in members:
                base, meta = _strip(m)
                if any(isinstance(x, Tag) and x.tag == element for x in meta):
                    chosen = base
            if chosen is None:  # a plain union: the element labels a member
                in_union = True
                annotation = None
            else:
                annotation = chosen
            element = None
            break
        if element is None:
            continue
        if element == "[key]":  # a mapping key's own error
            annotation = None
            continue
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
            field = _field(annotation, element)
            parts.append(str(element))
            annotation = _annotation(field) if field is not None else None
            continue
        parts.append(str(element))
        field = None
        if origin is dict:
            annotation = typing.get_args(annotation)[1]
        elif origin in (list, tuple):
            args = typing.get_args(annotation)
            annotation = args[0] if args else None
        else:
            annotation = None
    return parts, model, field, in_union


def _field(model: type[BaseModel], name: Any) -> Optional[FieldInfo]:
    for field_name, f in model.model_fields.items():
        if (f.alias or field_name) == name:
            return f
    return None


def _annotation(field: FieldInfo) -> Any:
    ann = field.annotation
    if field.discriminator is not None or field.metadata:
        return typing.Annotated[(ann, *field.metadata)] if field.metadata else ann
    return ann

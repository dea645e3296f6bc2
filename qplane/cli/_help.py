"""Plain help text from docstrings: what ``--help`` prints carries no reST markup.

Module docstrings double as command descriptions; :func:`plain` drops their doctest examples
and turns reST into plain text (literal ``code`` to `code`, roles such as ``:class:`~a.B``` to
`B`, a literal-block ``::`` to ``:``).

>>> plain("Run ``qplane`` via :func:`~qplane.cli.main`::\\n\\n    qplane x\\n\\n>>> 1 + 1\\n2\\n")
'Run `qplane` via `main`:\\n\\n    qplane x'
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:class|mod|func|meth|data|attr|exc|obj):`~?([^`]*)`")


def plain(doc: str | None) -> str | None:
    """``doc`` without doctest examples and reST markup (``None`` stays ``None``)."""
    if doc is None:
        return None
    text = doc.split("\n>>>")[0]
    text = _ROLE.sub(lambda m: "`" + m.group(1).rsplit(".", 1)[-1] + "`", text)
    text = text.replace("``", "`")
    text = re.sub(r"(\S)::$", r"\1:", text, flags=re.M)
    text = re.sub(r"^::$\n?", "", text, flags=re.M)
    return text.rstrip()

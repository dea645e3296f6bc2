"""Where model files live and how a config pins one, without importing torch.

A config names a model by a shipped name (a file stem in ``qplane/decoder/models/``) or a
path, and pins its bytes by SHA-256. ``qplane check`` resolves and hashes it through this
module, so validating a config does not pay for importing torch.

>>> sorted(shipped_models())[:1]
['d3']
>>> resolve_model_path("d3").name
'd3.safetensors'
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from qplane.errors import DecoderError

#: Where shipped models live.
MODELS_DIR = Path(__file__).parent / "models"


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, the pin a config gives for a model."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def shipped_models() -> dict[str, Path]:
    """Shipped model files by name."""
    return {p.stem: p for p in sorted(MODELS_DIR.glob("*.safetensors"))}


def resolve_model_path(model: str | Path) -> Path:
    """The file for ``model``: a shipped model name, or a path.

    Raises:
        DecoderError: neither a shipped model nor an existing file.
    """
    shipped = shipped_models()
    if isinstance(model, str) and model in shipped:
        return shipped[model]
    path = Path(model)
    if not path.is_file():
        raise DecoderError(
            f"model {str(model)!r} is neither a shipped model ({', '.join(shipped) or 'none'}) "
            "nor an existing file")
    return path

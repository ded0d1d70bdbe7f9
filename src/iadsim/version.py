"""The package version, in a module of its own so that any layer can read it without importing the
package's public API (``iadsim/__init__.py`` imports the top layers)."""

import functools
import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["__version__", "build_fingerprint"]

try:
    __version__ = version("iadsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"


@functools.cache
def build_fingerprint() -> str:
    """16 hex digits of the SHA-256 of the package's Python source (paths and contents).

    A resumable study or sweep records it: a development build keeps its version number from one
    commit to the next, and a folder begun by one build must not be finished by another, whose
    models may give other numbers (the evaluations would be mixed without a word).
    """
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]

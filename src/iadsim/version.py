"""The package version, in a module of its own so that any layer can read it without importing the
package's public API (``iadsim/__init__.py`` imports the top layers)."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("iadsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

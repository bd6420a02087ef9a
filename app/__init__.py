"""Hearth: a private desktop assistant that runs entirely on the user's computer.

Importing the package switches every third-party library we use to offline, no-telemetry
mode *before* any of them can be imported (see :mod:`app.privacy`). The socket guard that
refuses non-loopback connections is installed by the entry points.
"""

from app import privacy as _privacy

_privacy.apply_offline_environment()


def _version() -> str:
    """The version, written once: in pyproject.toml (read back from the installed metadata)."""
    from importlib import metadata

    try:
        return metadata.version("hearth")
    except metadata.PackageNotFoundError:  # a checkout run without installing it
        return "0+unknown"


__version__ = _version()

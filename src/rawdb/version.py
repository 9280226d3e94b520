"""rawdb's version, as installed (``0+unknown`` for a source tree that is not installed)."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("rawdb")
except PackageNotFoundError:  # a source tree on sys.path without an install
    VERSION = "0+unknown"

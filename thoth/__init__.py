"""Thoth: a policy check in front of every tool call an AI agent makes."""

from thoth._version import __version__

__all__ = ["__version__"]

"""aten-thoth's module path for the exception; see :mod:`thoth.errors`."""

from thoth.errors import ThothPolicyViolation

__all__ = ["ThothPolicyViolation"]

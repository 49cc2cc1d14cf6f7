"""Thoth's own enforcer (``thoth serve``): policies, holds, the audit store.

Installed with the ``server`` extra. Nothing here is imported by ``import thoth``.
"""

from thoth.policy import PolicyError, load_policy, load_policy_file
from thoth.server.app import create_app
from thoth.server.config import ServerConfig, build_config

__all__ = ["PolicyError", "ServerConfig", "build_config", "create_app", "load_policy", "load_policy_file"]

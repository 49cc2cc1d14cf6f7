"""Property-based contract tests: schemathesis drives the app in-process from openapi/thoth.yaml.

Positive and negative cases for every operation, then stateful sequences that follow
the spec's links (enforce -> get_hold / resolve_hold). Any failed check fails the test.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import hypothesis
import schemathesis
import sqlalchemy as sa
from schemathesis.config import SchemathesisConfig
from starlette.applications import Starlette

from thoth.server import ServerConfig, create_app
from thoth.server.auth import KeySpec

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "thoth_schemathesis_admin"
_DB_DIR = tempfile.TemporaryDirectory(prefix="thoth-schemathesis-")

APP = create_app(
    ServerConfig(
        db_url=f"sqlite:///{_DB_DIR.name}/thoth.db",
        admin_keys=(KeySpec.parse(ADMIN_KEY),),  # every tenant: generated tenant ids reach the logic
        # the fuzzed keys all come from one client and would lock it out (tests/server/
        # test_auth_limits.py); the ignored-auth check would then meet 429s, not 401s
        auth_failure_limit=0,
    )
)

CONFIG = SchemathesisConfig.from_dict(
    {
        # Credentials go through the spec's security schemes, not as plain headers: schemathesis
        # then knows each request's auth is the valid one it was given (a plain header can read
        # as generated, "likely invalid"), and its ignored-auth probes still strip each scheme.
        "auth": {
            "openapi": {
                "ApiKeyHeader": {"api_key": ADMIN_KEY},
                "BearerAuth": {"bearer": ADMIN_KEY},
                "EventIngestToken": {"api_key": ADMIN_KEY},
            }
        },
        "generation": {"mode": "all", "max-examples": 30},
        # A schema-violating body can also be too large (a 5 MB string): 413 is a rejection too.
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"),
                    "5xx",
                ]
            }
        },
        # only the spec's own links (enforce -> get_hold, enforce -> resolve_hold): with inferred
        # links added, schemathesis would start scenarios from GET /v1/holds instead of enforce
        "phases": {"stateful": {"max-steps": 8, "inference": {"algorithms": []}, "link-calibration": False}},
    }
)
schema = schemathesis.openapi.from_path(ROOT / "openapi" / "thoth.yaml", config=CONFIG)
schema.app = APP


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate()


_apps = itertools.count()


def _fresh_app() -> Starlette:
    return create_app(
        ServerConfig(
            db_url=f"sqlite:///{_DB_DIR.name}/scenario-{next(_apps)}.db",
            admin_keys=(KeySpec.parse(ADMIN_KEY),),
        )
    )


class StatefulMachine(schema.as_state_machine()):  # type: ignore[misc]
    """Each scenario gets a fresh enforcer: the server is stateful (a denied hold makes a
    progressive session block), and a scenario must replay the same way to be reported."""

    def setup(self) -> None:
        self.app = _fresh_app()

    def call(self, case: schemathesis.Case, **kwargs: Any) -> Any:
        return super().call(case, app=self.app, **kwargs)

    def teardown(self) -> None:
        StatefulMachine.resolved_total += _resolved_holds(self.app)
        self.app.state.enforcer.close()

    resolved_total = 0


STATEFUL_SETTINGS = hypothesis.settings(
    max_examples=40,
    deadline=None,
    stateful_step_count=8,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)


def test_stateful_sequences_following_the_links() -> None:
    """enforce -> get_hold / resolve_hold with the hold_token of a STEP_UP, and back."""
    StatefulMachine.run(settings=STATEFUL_SETTINGS)
    # random tokens cannot resolve a hold: resolved holds show that the links were followed
    assert StatefulMachine.resolved_total > 0


def _resolved_holds(app: Starlette) -> int:
    engine = app.state.enforcer.engine
    with engine.connect() as conn:
        count = conn.execute(sa.text("select count(*) from thoth_holds where status != 'pending'")).scalar()
    return int(count or 0)

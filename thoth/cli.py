"""The ``thoth`` command: run the enforcer, resolve holds, read events, check policies.

Client commands (holds, events, sessions, doctor) take ``--url`` and ``--api-key``, defaulting
to ``THOTH_API_URL`` and ``THOTH_API_KEY``. The server and the HTTP client are
imported only by the commands that need them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from thoth_api_client import AuthenticatedClient

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
#: The contract's HoldState values, for ``holds list --status`` (spelled here so that building the
#: parser imports neither the generated client nor the server; a unit test checks them).
HOLD_STATES = ("pending", "approved", "denied", "expired")


def _make_output_terminal_safe() -> None:
    """Every line ``thoth`` prints (and ``thoth serve`` logs) may hold what an agent sent: no
    control character in it reaches the terminal as one (:mod:`thoth._terminal`)."""
    from thoth._terminal import SafeStream

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, SafeStream):
            setattr(sys, name, SafeStream(stream))


class CliError(Exception):
    """A problem to report in one line, without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    saved = sys.stdout, sys.stderr
    _make_output_terminal_safe()
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = saved


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except CliError as exc:
        print(f"thoth: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


# -- parser ---------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from thoth._version import __version__

    parser = argparse.ArgumentParser(prog="thoth", description="Govern what AI agents do.")
    parser.add_argument("--version", action="version", version=f"thoth {__version__}")
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="run the enforcer")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8787, help="port to listen on (default 8787)")
    serve.add_argument("--policy", metavar="FILE", help="policy YAML (default: approved scope only)")
    serve.add_argument("--db", metavar="URL", help="SQLAlchemy URL (default sqlite:///thoth.db)")
    serve.add_argument(
        "--api-key",
        action="append",
        metavar="KEY",
        help="TENANT:KEY binds a key to a tenant; a plain KEY acts for every tenant (repeatable); "
        "also THOTH_SERVER_API_KEYS, comma-separated",
    )
    serve.add_argument(
        "--admin-key",
        action="append",
        metavar="KEY",
        help="a key that may also resolve holds and sign in to the console: [NAME=][TENANT:]KEY, "
        "NAME being who its resolutions are recorded as (e.g. alice@acme.com=KEY); "
        "also THOTH_SERVER_ADMIN_KEY, comma-separated",
    )
    serve.add_argument("--webhook-url", metavar="URL", help="POST new holds here (Slack-compatible)")
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the address people open this server at (https://thoth.example.com): a STEP_UP "
        "answer then carries approval_url, the hold's console page; also THOTH_SERVER_PUBLIC_URL",
    )
    slack = serve.add_argument_group(
        "Slack approvals",
        "post each new hold to Slack with Approve / Deny buttons; Slack calls back "
        "POST /integrations/slack/actions (set it as the app's interactivity Request URL)",
    )
    slack.add_argument(
        "--slack-webhook-url",
        metavar="URL",
        help="an incoming webhook to post holds to (a secret: prefer THOTH_SLACK_WEBHOOK_URL)",
    )
    slack.add_argument(
        "--slack-bot-token-file",
        metavar="PATH",
        help="a file holding a bot token (xoxb-...), instead of a webhook; also THOTH_SLACK_BOT_TOKEN",
    )
    slack.add_argument("--slack-channel", metavar="CHANNEL", help="the channel a bot token posts to")
    slack.add_argument(
        "--slack-signing-secret-file",
        metavar="PATH",
        help="a file holding the Slack app's signing secret; also THOTH_SLACK_SIGNING_SECRET (required)",
    )
    slack.add_argument(
        "--slack-allowed-users",
        metavar="IDS",
        help="only these Slack user ids or usernames (comma-separated) may approve; default: anyone "
        "in the channel; also THOTH_SLACK_ALLOWED_USERS",
    )
    serve.add_argument("--insecure-dev", action="store_true", help="accept requests without a key")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--migrate",
        action="store_true",
        help="upgrade a store whose schema is behind (default: refuse to start and print the command)",
    )
    serve.add_argument(
        "--sqlite-synchronous",
        choices=["normal", "full"],
        help="SQLite durability: normal (WAL default: commits survive a process crash) or full "
        "(fsync on each commit: they also survive a power loss); also THOTH_SERVER_SQLITE_SYNCHRONOUS",
    )
    serve.add_argument(
        "--db-pool-size", type=_positive_int, metavar="N", help="connections to the store per process"
    )
    serve.add_argument(
        "--receipt-signing-key",
        metavar="PATH",
        help="Ed25519 private key (PKCS8 PEM, from `thoth receipt keygen`): sign a receipt for every "
        "decision; also THOTH_SERVER_RECEIPT_SIGNING_KEY",
    )
    serve.add_argument(
        "--auth-failure-limit",
        type=int,
        metavar="N",
        help="different wrong keys a client address may send in a minute before it must wait "
        "(429, 2 s doubling to 60 s); 0: no limit, e.g. behind a proxy that limits; default 10; "
        "also THOTH_SERVER_AUTH_FAILURE_LIMIT",
    )
    serve.add_argument(
        "--otel",
        action="store_true",
        help="OpenTelemetry spans (thoth.enforce, thoth.ingest) and metrics (decisions, their "
        "duration, events) on the global providers: run under `opentelemetry-instrument` to export "
        "them; needs thoth-sdk[otel]; also THOTH_SERVER_OTEL=on",
    )
    serve.add_argument(
        "--no-redact-events",
        dest="redact_events",
        action="store_false",
        default=None,
        help="store events as sent, without replacing the secrets and credentials found in their "
        "content, metadata and extension fields (default: replaced, and counted); also "
        "THOTH_SERVER_REDACT_EVENTS=false",
    )
    serve.add_argument(
        "--bundle-signing-key",
        metavar="PATH",
        help="Ed25519 private key (PKCS8 PEM, from `thoth receipt keygen`): sign the policy bundle that "
        "SDKs in decision_mode=local fetch; also THOTH_SERVER_BUNDLE_SIGNING_KEY",
    )
    serve.set_defaults(handler=_serve)

    db = commands.add_parser("db", help="the store's schema version").add_subparsers(title="db commands")
    for name, handler, text in (
        ("upgrade", _db_upgrade, "create or upgrade the store's schema to this thoth's version"),
        ("current", _db_current, "print the store's schema version"),
    ):
        command = db.add_parser(name, help=text)
        command.add_argument(
            "--db",
            metavar="URL",
            help="SQLAlchemy URL (default $THOTH_SERVER_DB_URL, else sqlite:///thoth.db)",
        )
        command.set_defaults(handler=handler)

    holds = commands.add_parser("holds", help="list, approve or deny step-up holds").add_subparsers(
        title="holds commands"
    )
    listing = holds.add_parser("list", help="list holds (pending first by default)")
    listing.add_argument("--status", choices=HOLD_STATES)
    listing.add_argument("--session", metavar="ID")
    listing.add_argument("--tenant", metavar="ID")
    listing.add_argument("--limit", type=int, default=100)
    _client_options(listing)
    listing.set_defaults(handler=_holds_list)
    for name, resolution in (("approve", "ALLOW"), ("deny", "BLOCK")):
        resolve = holds.add_parser(name, help=f"{name} a hold (admin key)")
        resolve.add_argument("token")
        resolve.add_argument("--reason", default="")
        resolve.add_argument(
            "--approver",
            help="who decided (default: your user name); a key configured with a name "
            "(NAME=KEY) is always recorded as that name",
        )
        _client_options(resolve)
        resolve.set_defaults(handler=_holds_resolve, resolution=resolution)

    events = commands.add_parser("events", help="read audit events").add_subparsers(title="events commands")
    tail = events.add_parser("tail", help="print stored events, oldest first")
    tail.add_argument("--session", metavar="ID")
    tail.add_argument("--follow", action="store_true", help="keep printing new events")
    tail.add_argument("--interval", type=float, default=1.0, help="seconds between polls with --follow")
    _client_options(tail)
    tail.set_defaults(handler=_events_tail)
    export = events.add_parser(
        "export",
        help="write stored events as JSON Lines or CSV (for a SIEM), oldest first, in constant memory",
    )
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument(
        "--since", metavar="TIME", help="received at or after: 2026-11-25T10:00:00Z, 2026-11-25, 24h, 7d"
    )
    export.add_argument("--until", metavar="TIME", help="received before (same forms)")
    export.add_argument("--session", metavar="ID")
    export.add_argument("--out", metavar="FILE", help="write here, byte for byte (default: standard output)")
    _client_options(export)
    export.set_defaults(handler=_events_export)

    _sessions_parser(commands)

    policy = commands.add_parser("policy", help="check a policy file").add_subparsers(title="policy commands")
    check = policy.add_parser("check", help="load a policy and report errors with line and column")
    check.add_argument("file")
    check.set_defaults(handler=_policy_check)
    test = policy.add_parser("test", help="check expected decisions for sample requests")
    test.add_argument("file")
    test.add_argument("cases")
    test.set_defaults(handler=_policy_test)
    covered = policy.add_parser(
        "coverage",
        help="list recorded tools (the tool inventory) that no rule of a policy names",
        description="Reads the tool inventory from the server (what instrumented agents published) and "
        "reports, per tool, the rules that name it. Exit 0 when every recorded tool is named by a rule, "
        "1 when some are not, 2 when the policy or the inventory cannot be read.",
    )
    covered.add_argument("file", help="the policy file (the server's --policy, or a draft)")
    covered.add_argument("--agent-id", help="only the tools this agent recorded")
    covered.add_argument("--tenant", help="only this tenant's tools (an unscoped key sees every tenant)")
    covered.add_argument(
        "--db",
        metavar="URL",
        help="read the recorded decisions from this store instead (SQLAlchemy URL, read only): also "
        "lists the rules that never matched in the window and the rules shadowed by earlier ones",
    )
    _window_options(covered)
    _client_options(covered)
    covered.set_defaults(handler=_policy_coverage)
    _replay_parser(policy)

    _receipt_parsers(commands)

    doctor = commands.add_parser("doctor", help="check URL, key, clock and reachability as the SDK sees them")
    _client_options(doctor)
    doctor.set_defaults(handler=_doctor)
    return parser


def _replay_parser(policy: Any) -> None:
    replay = policy.add_parser(
        "replay",
        help="decide recorded calls again under a candidate policy and report what flips",
        description="Reads the store's decision log (read only, streamed) and decides every recorded "
        "call again under --policy, session state included. Exit 0; 1 when more calls flip than "
        "--max-flips; 2 when the policy, the store or an argument cannot be used.",
    )
    replay.add_argument(
        "--db", metavar="URL", help="SQLAlchemy URL (default $THOTH_SERVER_DB_URL, else sqlite:///thoth.db)"
    )
    replay.add_argument("--policy", required=True, metavar="FILE", help="the candidate policy")
    replay.add_argument("--tenant", help="only this tenant's calls")
    _window_options(replay)
    replay.add_argument("--max-flips", type=_count, metavar="N", help="exit 1 when more than N calls flip")
    replay.add_argument("--json", action="store_true", help="print a JSON document instead of a report")
    replay.set_defaults(handler=_policy_replay)


def _sessions_parser(commands: Any) -> None:
    sessions = commands.add_parser(
        "sessions",
        help="list recorded sessions with their behaviour scores (--anomalous: the most unusual first)",
        description="Each session is scored against the other sessions of its agent in the window: "
        "tools never seen for the agent, an unusual order of tools, a call rate far above the usual. "
        "`thoth sessions show ID` prints one session with the reasons.",
    )
    sessions.add_argument("--anomalous", action="store_true", help="the highest score first")
    sessions.add_argument("--limit", type=_positive_int, default=20, help="sessions to list (default 20)")
    _session_scope_options(sessions, argparse.SUPPRESS)
    _client_options(sessions)
    sessions.set_defaults(handler=_sessions_list, window=None, tenant=None, json=False)
    show = sessions.add_subparsers(title="sessions commands").add_parser(
        "show", help="one session: its calls, decisions, score and the reasons"
    )
    show.add_argument("session_id", metavar="SESSION_ID")
    # what was given before `show` stays: these only override it when given after
    _session_scope_options(show, argparse.SUPPRESS)
    for name, text in (("--url", "default $THOTH_API_URL"), ("--api-key", "default $THOTH_API_KEY")):
        show.add_argument(name, default=argparse.SUPPRESS, help=text)
    show.add_argument("--timeout", type=float, default=argparse.SUPPRESS, help="seconds per request")
    show.set_defaults(handler=_sessions_show)


def _session_scope_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--window", default=default, metavar="AGE", help="how far back: 90m, 24h, 7d (default 7d)"
    )
    parser.add_argument("--tenant", default=default, metavar="ID", help="only this tenant's sessions")
    parser.add_argument("--json", action="store_true", default=default, help="print the API's JSON")


def _window_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", metavar="TIME", help="decided at or after: 2026-11-25T10:00:00Z, 2026-11-25, 24h, 7d"
    )
    parser.add_argument("--until", metavar="TIME", help="decided before (same forms)")


def _receipt_parsers(commands: Any) -> None:
    receipt = commands.add_parser("receipt", help="make a receipt signing key, verify a decision receipt")
    sub = receipt.add_subparsers(title="receipt commands")
    keygen = sub.add_parser("keygen", help="write a new Ed25519 signing key (PKCS8 PEM, 0600) and its .pub")
    keygen.add_argument("--out", required=True, metavar="PATH", help="the private key (never overwritten)")
    keygen.set_defaults(handler=_receipt_keygen)
    verify = sub.add_parser(
        "verify",
        help="check a receipt's signature: exit 0 valid, 1 invalid, 2 cannot check",
        description="RECEIPT is a JSON file (or - for stdin) holding a receipt, or an /v1/enforce "
        "answer that carries one. Exit 0: valid; 1: invalid; 2: usage (bad arguments, unreadable "
        "file or key, server unreachable or signing no receipts).",
    )
    verify.add_argument("receipt", metavar="RECEIPT_JSON_FILE_OR_-")
    key = verify.add_mutually_exclusive_group(required=True)
    key.add_argument("--public-key", metavar="PEM_FILE", help="the signer's public key (the keygen .pub)")
    key.add_argument("--server", metavar="URL", help="fetch the key from URL/v1/receipts/public-key")
    verify.add_argument("--api-key", default=os.environ.get("THOTH_API_KEY"), help="default $THOTH_API_KEY")
    verify.add_argument("--timeout", type=float, default=10.0, help="seconds for --server")
    verify.add_argument("--tool", metavar="NAME", help="also check the receipt is for this tool ...")
    verify.add_argument("--args", metavar="JSON", help="... called with these arguments (a JSON object)")
    verify.set_defaults(handler=_receipt_verify)


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("THOTH_API_URL"), help="default $THOTH_API_URL")
    parser.add_argument("--api-key", default=os.environ.get("THOTH_API_KEY"), help="default $THOTH_API_KEY")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")


# -- serve and policy -----------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    try:
        from thoth.server.runner import serve_command
    except ImportError as exc:
        raise CliError(
            f"the server needs the server extra: pip install 'thoth-sdk[server]' ({exc})"
        ) from None
    return serve_command(
        host=args.host,
        port=args.port,
        policy_path=args.policy,
        db_url=args.db,
        api_keys=args.api_key,
        admin_keys=args.admin_key,
        insecure_dev=args.insecure_dev,
        webhook_url=args.webhook_url,
        log_level=args.log_level,
        migrate=args.migrate,
        sqlite_synchronous=args.sqlite_synchronous,
        db_pool_size=args.db_pool_size,
        receipt_signing_key=args.receipt_signing_key,
        bundle_signing_key=args.bundle_signing_key,
        redact_events=args.redact_events,
        auth_failure_limit=args.auth_failure_limit,
        public_url=args.public_url,
        otel=args.otel,
        slack={
            "webhook_url": args.slack_webhook_url,
            "bot_token_file": args.slack_bot_token_file,
            "channel": args.slack_channel,
            "signing_secret_file": args.slack_signing_secret_file,
            "allowed_users": args.slack_allowed_users,
        },
    )


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``, else a message saying so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


_count = _whole_number(0)
_positive_int = _whole_number(1)


# -- db -------------------------------------------------------------------------------------------


def _migrations() -> Any:
    try:
        from thoth.server import migrate
    except ImportError as exc:
        raise CliError(f"the store needs the server extra: pip install 'thoth-sdk[server]' ({exc})") from None
    return migrate


def _db_url(args: argparse.Namespace) -> str:
    from thoth.server.config import DEFAULT_DB_URL

    return str(args.db or os.environ.get("THOTH_SERVER_DB_URL") or DEFAULT_DB_URL)


def _db_call(url: str, fn: Callable[[], Any]) -> Any:
    """Run a migrate call; its errors become one line (without the password or SQL parameters)."""
    from sqlalchemy.exc import SQLAlchemyError

    migrate = _migrations()
    try:
        return fn()
    except (migrate.SchemaError, ValueError) as exc:
        raise CliError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise CliError(migrate.error_line(url, exc)) from None


def _db_upgrade(args: argparse.Namespace) -> int:
    migrate, url = _migrations(), _db_url(args)
    before = _db_call(url, lambda: migrate.status(url))
    now = _db_call(url, lambda: migrate.upgrade(url))
    if before.legacy:
        print(f"{now} (upgraded from {migrate.BASELINE})")
    elif before.current is None:
        print(f"{now} (created)")
    elif before.current == now:
        print(f"{now} (already current)")
    else:
        print(f"{now} (upgraded from {before.current})")
    return EXIT_OK


def _db_current(args: argparse.Namespace) -> int:
    migrate, url = _migrations(), _db_url(args)
    print(_db_call(url, lambda: migrate.status(url)).describe())
    return EXIT_OK


def _load_policy(path: str) -> Any:
    from thoth.policy import load_policy_file

    return load_policy_file(path)


def _read_policy(path: str) -> Any | None:
    """The policy file, or None after printing what is wrong with it (file, line and column)."""
    from thoth.policy import PolicyError

    try:
        return _load_policy(path)
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return None


def _policy_check(args: argparse.Namespace) -> int:
    policy = _read_policy(args.file)
    if policy is None:
        return EXIT_FAILED
    from thoth.policy.check import report

    checked = report(policy, args.file)
    for warning in checked.warnings:
        print(warning, file=sys.stderr)
    print(checked.ok)
    return EXIT_OK


def _policy_test(args: argparse.Namespace) -> int:
    from thoth.policy import PolicyError
    from thoth.server.policy_cases import run_cases

    try:
        policy = _load_policy(args.file)
        with open(args.cases, encoding="utf-8") as handle:
            results = run_cases(policy, handle.read(), args.cases)
    except (PolicyError, OSError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILED
    for result in results:
        print(f"{'PASS' if result.passed else 'FAIL'} {result.name}: {result.detail}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


def _policy_coverage(args: argparse.Namespace) -> int:
    from thoth.server.coverage import coverage

    policy = _read_policy(args.file)
    if policy is None:
        return EXIT_USAGE
    matched: set[str] = set()
    try:
        recorded = _decided_tools(args, matched) if args.db else _recorded_tools(args)
    except CliError as exc:  # no inventory: no verdict (exit 2), not "uncovered" (exit 1)
        print(f"thoth: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = coverage(policy, recorded)
    if args.db:
        _print_rule_use(policy, matched)
    if not report.tools:
        where = "in the window" if args.db else "instrument an agent (its tools are published as it starts)"
        print(f"no recorded tools: {where}")
        return EXIT_OK
    for tool in report.tools:
        named = f"named by {', '.join(tool.rule_ids)}" if tool.covered else "NOT NAMED by any rule"
        print(_escaped(f"{tool.name}  {named}  (agents: {', '.join(tool.agents)})"))
    if report.every_tool_rule_ids:
        print(f"rules for every tool (no tools or tags): {', '.join(report.every_tool_rule_ids)}")
    if report.unused_rule_ids:
        print(f"rules that name no recorded tool: {', '.join(report.unused_rule_ids)}")
    uncovered = len(report.uncovered)
    print(f"{len(report.tools) - uncovered} of {len(report.tools)} recorded tools named by a rule")
    return EXIT_FAILED if uncovered else EXIT_OK


def _decided_tools(args: argparse.Namespace, matched: set[str]) -> list[Any]:
    """The tools of the store's recorded decisions in the window (distinct tenant, agent, tool);
    the rule ids those decisions matched are added to ``matched``."""
    from thoth.server import store
    from thoth.server.coverage import RecordedTool

    seen: set[tuple[str, str, str]] = set()
    columns = ("tenant_id", "agent_id", "tool_name", "rule_ids")
    with _recorded_rows(args, args.db, columns) as rows:
        for row in rows:
            if args.agent_id is None or row["agent_id"] == args.agent_id:
                seen.add((row["tenant_id"], row["agent_id"], row["tool_name"]))
                matched.update(store.iter_rule_ids(row["rule_ids"]))
    return [RecordedTool(*key) for key in sorted(seen)]


def _print_rule_use(policy: Any, matched: set[str]) -> None:
    from thoth.server.coverage import never_matched, shadowed

    unmatched = never_matched(policy, matched)
    if unmatched:
        print(_escaped(f"rules that never matched in the window: {', '.join(unmatched)}"))
    for found in shadowed(policy):
        print(_escaped(f"rule {found.rule_id} is shadowed by {found.by} (it can never decide a call)"))


@contextlib.contextmanager
def _recorded_rows(
    args: argparse.Namespace, url: str, columns: Sequence[str], *, with_spend: bool = False
) -> Iterator[Iterator[Any]]:
    """The store's decision rows of the window (``--since``/``--until``/``--tenant``), streamed
    from a read-only use of the store; CliError for a store or window that cannot be used.
    ``with_spend``: as ``RecordedRow``s merged by time with the window's token spend
    (``RecordedSpend``s, read on a second connection), for replay."""
    import sqlalchemy as sa

    from thoth.server import store

    since, until = _window(args)
    engine = _read_only_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # a READ ONLY transaction: looking never writes
                conn = conn.execution_options(postgresql_readonly=True)
            inspector = sa.inspect(conn)
            if not inspector.has_table("thoth_decisions"):
                raise CliError(f"{store.safe_url(url)} holds no thoth decisions: check --db")
            names = {column["name"] for column in inspector.get_columns("thoth_decisions")}
            if "request" in columns and "request" not in names:
                raise CliError(
                    f"{store.safe_url(url)} predates recorded requests (schema 0009): run `thoth db upgrade` "
                    "there; calls decided from then on can be replayed"
                )
            rows = store.recorded_decisions(conn, columns, args.tenant, since, until)
            if not with_spend:
                yield rows
                return
            with contextlib.closing(engine.connect()) as events_conn:
                if events_conn.dialect.name == "postgresql":
                    events_conn = events_conn.execution_options(postgresql_readonly=True)
                yield _with_spend(rows, store.recorded_token_spend(events_conn, args.tenant, since, until))
    except sa.exc.SQLAlchemyError as exc:
        raise CliError(_migrations().error_line(url, exc)) from None
    finally:
        engine.dispose()


def _with_spend(rows: Iterator[Any], spend: Iterator[tuple[str, str, str, float, int]]) -> Iterator[Any]:
    from thoth.server.replay import RecordedRow, RecordedSpend, in_order

    return in_order((RecordedRow.of(row) for row in rows), (RecordedSpend(*item) for item in spend))


def _read_only_engine(url: str) -> Any:
    """An engine that reads what is there: a SQLite file is never created by looking."""
    from pathlib import Path

    from thoth.server import store

    try:
        parsed = store.parse_url(url)
        if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
            raise CliError(f"no such SQLite store: {parsed.database or '(none)'}")
        return store.new_engine(parsed, hide_parameters=True)
    except store.StoreConfigError as exc:
        raise CliError(str(exc)) from None


def _window(args: argparse.Namespace) -> tuple[float | None, float | None]:
    """``--since``/``--until`` as epoch seconds (the forms ``events export`` takes)."""
    from thoth import _export

    now = dt.datetime.now(dt.UTC)
    try:
        moments = [_export.parse_moment(text, now) if text else None for text in (args.since, args.until)]
    except ValueError as exc:
        raise CliError(f"--since/--until: {exc}") from None
    since, until = (dt.datetime.fromisoformat(m).timestamp() if m else None for m in moments)
    return since, until


def _policy_replay(args: argparse.Namespace) -> int:
    import json

    from thoth.server.replay import Replayer

    policy = _read_policy(args.policy)
    if policy is None:
        return EXIT_USAGE
    replayer = Replayer(policy)
    columns = (
        *("tenant_id", "session_id", "agent_id", "tool_name", "kind", "fact", "decision"),
        *("shadow_decision", "rule_ids", "created_at", "decision_id", "hold_token", "request"),
    )
    try:
        with _recorded_rows(args, _db_url(args), columns, with_spend=True) as rows:
            for row in rows:
                replayer.feed(row)
    except CliError as exc:
        print(f"thoth: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = replayer.report()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))  # ASCII: nothing an agent sent is raw
    else:
        _print_replay(report)
    if args.max_flips is not None and report.flipped > args.max_flips:
        print(
            f"thoth: {report.flipped} calls flipped, more than --max-flips {args.max_flips}", file=sys.stderr
        )
        return EXIT_FAILED
    return EXIT_OK


def _print_replay(report: Any) -> None:
    """The replay report for a reader; every name from the store escaped (one line each)."""
    skipped = sum(report.not_replayable.values())
    print(f"{report.replayed} calls replayed: {report.unchanged} unchanged, {report.flipped} flipped")
    if skipped:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(report.not_replayable.items()))
        print(f"{skipped} not replayable ({why})")
    for title, counts in (
        ("flips", report.flips),
        ("by candidate rule", report.by_candidate_rule),
        ("by recorded rules", report.by_recorded_rules),
        ("by tool", report.by_tool),
    ):
        if counts:
            print(f"{title}:")
            for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
                print(_escaped(f"  {n:6d}  {name}"))
    for kind, examples in sorted(report.examples.items()):
        print(_escaped(f"examples of {kind}:"))
        for e in examples:
            rules = ",".join(e.recorded_rule_ids) or "-"
            print(
                _escaped(
                    f"  {e.at}  {e.decision_id or '-'}  session={e.session_id} agent={e.agent_id} "
                    f"tool={e.tool_name}  recorded rules={rules}  candidate rule={e.candidate_rule_id}"
                )
            )


def _recorded_tools(args: argparse.Namespace) -> list[Any]:
    """Every inventory row the key may read, page by page."""
    from thoth_api_client.api.inventory import list_tool_inventory
    from thoth_api_client.types import UNSET

    from thoth.server.coverage import RecordedTool

    rows: list[RecordedTool] = []
    cursor: Any = UNSET
    with _client(args) as client:
        while True:
            page = _call(
                list_tool_inventory.sync_detailed,
                client=client,
                agent_id=args.agent_id or UNSET,
                tenant_id=args.tenant or UNSET,
                limit=1000,
                cursor=cursor,
            )
            rows += [RecordedTool(t.tenant_id, t.agent_id, t.name) for t in page.items]
            if not page.items or not isinstance(page.next_cursor, str):
                return rows
            cursor = page.next_cursor


# -- receipts -------------------------------------------------------------------------------------


class _CannotCheck(Exception):
    """No verdict can be given (exit 2): the receipt or the key could not be had."""


def _receipt_keygen(args: argparse.Namespace) -> int:
    from thoth import _signing

    private_path, public_path = args.out, args.out + ".pub"
    try:
        key = _signing.generate_private_key()
        _write_new_files(
            (private_path, _signing.private_key_pem(key), 0o600),
            (public_path, _signing.public_key_pem(key).encode("ascii"), 0o644),
        )
    except _signing.SigningKeyError as exc:
        raise CliError(str(exc)) from None
    print(f"key id {_signing.key_id(key)}")
    print(f"private key {private_path} (mode 0600: give it to thoth serve --receipt-signing-key)")
    print(f"public key {public_path} (give it to thoth receipt verify --public-key)")
    return EXIT_OK


def _write_new_files(*files: tuple[str, bytes, int]) -> None:
    """Create every file or none. Each must not exist yet (O_EXCL: a key is never overwritten) and
    has its mode from creation on (a private key is never readable by others, even briefly)."""
    created: list[str] = []
    try:
        for path, data, mode in files:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            created.append(path)
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), mode)  # the umask may have removed bits the mode asks for
                handle.write(data)
    except OSError as exc:
        for path in created:
            os.unlink(path)
        if isinstance(exc, FileExistsError):
            raise CliError(f"{exc.filename} exists: not overwriting a key (choose another --out)") from None
        raise CliError(f"cannot write {exc.filename or created[-1]}: {exc.strerror or exc}") from None


def _receipt_verify(args: argparse.Namespace) -> int:
    from thoth import receipts

    try:
        receipt = _read_receipt(args.receipt)
        call = _claimed_call(args)
        public_pem = _read_public_key(args) if args.public_key else _fetch_public_key(args)
    except _CannotCheck as exc:
        print(f"thoth: {_escaped(str(exc), backslashes=False)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        verified = receipts.verify_receipt(receipt, public_pem)
        if call is not None:
            receipts.check_call(verified, *call)
    except receipts.ReceiptError as exc:
        print(_escaped(f"INVALID receipt ({exc.reason}): {exc}", backslashes=False))
        _print_claims(receipt.get("claims") if isinstance(receipt, dict) else None, "claims (unverified)")
        return EXIT_FAILED
    matched = " and matches the call" if call is not None else ""
    print(f"VALID receipt signed by key {verified.key_id}{matched}")
    _print_claims(verified.claims, "claims")
    return EXIT_OK


def _read_receipt(source: str) -> Any:
    """The receipt in a file or stdin; an /v1/enforce answer gives its ``receipt``."""
    import json

    try:
        text = sys.stdin.read() if source == "-" else open(source, encoding="utf-8").read()  # noqa: SIM115
    except (OSError, UnicodeDecodeError) as exc:
        raise _CannotCheck(f"cannot read {source}: {_os_reason(exc)}") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise _CannotCheck(f"{source} is not JSON: {exc}") from None
    if isinstance(value, dict) and "signature" not in value and isinstance(value.get("receipt"), dict):
        return value["receipt"]
    return value


def _os_reason(exc: OSError | UnicodeDecodeError) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def _claimed_call(args: argparse.Namespace) -> tuple[str, dict[str, Any]] | None:
    import json

    if args.tool is None:
        if args.args is not None:
            raise _CannotCheck("--args needs --tool")
        return None
    try:
        tool_args = json.loads(args.args) if args.args is not None else {}
    except ValueError as exc:
        raise _CannotCheck(f"--args is not JSON: {exc}") from None
    if not isinstance(tool_args, dict):
        raise _CannotCheck("--args must be a JSON object")
    return args.tool, tool_args


def _read_public_key(args: argparse.Namespace) -> str:
    from thoth import _signing

    try:
        with open(args.public_key, encoding="ascii") as handle:
            text = handle.read()
        _signing.load_public_key(text, source=args.public_key)  # a bad key file is a usage error
    except (OSError, UnicodeDecodeError) as exc:
        raise _CannotCheck(f"cannot read {args.public_key}: {_os_reason(exc)}") from None
    except _signing.SigningKeyError as exc:
        raise _CannotCheck(str(exc)) from None
    return text


def _fetch_public_key(args: argparse.Namespace) -> str:
    from thoth_api_client.api.enforcement import get_receipt_public_key
    from thoth_api_client.models import ReceiptPublicKey

    client_args = argparse.Namespace(url=args.server, api_key=args.api_key, timeout=args.timeout)
    try:
        with _client(client_args) as client:
            key = _call(get_receipt_public_key.sync_detailed, client=client)
    except CliError as exc:
        raise _CannotCheck(f"public key from {args.server}: {exc}") from None
    if not isinstance(key, ReceiptPublicKey):
        raise _CannotCheck(f"public key from {args.server}: unexpected response")
    return key.public_key_pem


def _print_claims(claims: Any, title: str) -> None:
    import json

    if not isinstance(claims, dict):
        return
    print(f"{title}:")
    for name in sorted(claims, key=str):
        value = claims[name]
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        print(f"  {_escaped(str(name))}: {_escaped(text)}")


def _escaped(text: str, *, backslashes: bool = True) -> str:
    """A value from an untrusted receipt or server, on one line: every unprintable character
    (newline and tab too) is written as an escape (:func:`thoth._terminal.terminal_safe`). With
    ``backslashes`` a backslash is doubled too, so an escape always means the character it names
    (off for messages whose values are already ``repr``-escaped)."""
    from thoth._terminal import terminal_safe

    return terminal_safe(text.replace("\\", "\\\\") if backslashes else text, one_line=True)


# -- client commands ------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> AuthenticatedClient:
    if not args.url:
        raise CliError("no server URL: give --url or set THOTH_API_URL")
    if not args.api_key:
        raise CliError("no API key: give --api-key or set THOTH_API_KEY")
    import httpx
    from thoth_api_client import AuthenticatedClient

    timeout = httpx.Timeout(args.timeout, connect=min(args.timeout, 5.0))
    return AuthenticatedClient(base_url=args.url.rstrip("/"), token=args.api_key, timeout=timeout)


def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a generated ``sync_detailed``; turn transport and error responses into CliError."""
    response = _checked(fn, **kwargs)
    status = int(response.status_code)
    if response.parsed is None:
        raise CliError(f"HTTP {status}: unexpected response")
    return response.parsed


def _checked(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """The response of a generated ``sync_detailed``; transport failures and errors as CliError."""
    import httpx

    try:
        response = fn(**kwargs)
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach the server: {type(exc).__name__}: {exc}") from None
    status = int(response.status_code)
    if status >= 400:
        raise CliError(f"HTTP {status}: {_error_message(response.content)}")
    return response


def _error_message(content: bytes) -> str:
    import json

    try:
        body = json.loads(content)
        return f"{body['code']}: {body['message']}"
    except (ValueError, KeyError, TypeError):
        return content[:200].decode("utf-8", "replace") or "no body"


def _holds_list(args: argparse.Namespace) -> int:
    from thoth_api_client.api.holds import list_holds
    from thoth_api_client.models import HoldState
    from thoth_api_client.types import UNSET

    with _client(args) as client:
        page = _call(
            list_holds.sync_detailed,
            client=client,
            status=HoldState(args.status) if args.status else UNSET,
            session_id=args.session or UNSET,
            tenant_id=args.tenant or UNSET,
            limit=args.limit,
        )
    if not page.items:
        print("no holds")
    for hold in page.items:
        print(
            f"{hold.hold_token}  {hold.status.value:8}  {hold.tenant_id}  {hold.agent_id}  "
            f"{hold.tool_name}  session={hold.session_id}  expires={hold.expires_at.isoformat()}  "
            f"{hold.reason or ''}{_resolved_by(hold)}"
        )
    return EXIT_OK


def _resolved_by(hold: Any) -> str:
    """``  by alice at 2026-12-06T10:00:00Z: reason`` for a resolved hold, else nothing."""
    if not isinstance(hold.approver, str) or not hold.approver:
        return ""
    when = hold.resolved_at.isoformat() if isinstance(hold.resolved_at, dt.datetime) else "?"
    given = hold.resolution_reason
    why = f": {given}" if isinstance(given, str) and given else ""
    return f"  by {hold.approver} at {when}{why}"


def _holds_resolve(args: argparse.Namespace) -> int:
    import getpass

    from thoth_api_client.api.holds import resolve_hold
    from thoth_api_client.models import HoldResolution, ResolveHoldRequest
    from thoth_api_client.types import UNSET

    approver = args.approver or _user_name(getpass.getuser)
    body = ResolveHoldRequest(
        resolution=HoldResolution(args.resolution),
        approver=approver,
        reason=args.reason or UNSET,
    )
    with _client(args) as client:
        hold = _call(resolve_hold.sync_detailed, client=client, hold_token=args.token, body=body)
    print(f"{hold.hold_token} {hold.status.value} by {hold.approver}: {hold.tool_name} for {hold.agent_id}")
    return EXIT_OK


def _user_name(lookup: Callable[[], str]) -> str:
    try:
        return lookup() or "cli"
    except (OSError, KeyError, ImportError):  # getpass.getuser: no pwd module, or no passwd entry
        return "cli"


def _sessions_list(args: argparse.Namespace) -> int:
    from thoth_api_client.api.sessions import list_sessions
    from thoth_api_client.models import SessionSort
    from thoth_api_client.types import UNSET

    with _client(args) as client:
        response = _checked(
            list_sessions.sync_detailed,
            client=client,
            sort=SessionSort.ANOMALY if args.anomalous else SessionSort.RECENT,
            window=args.window or UNSET,
            tenant_id=args.tenant or UNSET,
            limit=args.limit,
        )
    page = _json_document(response)
    if args.json:
        _print_json(page)
        return EXIT_OK
    items = page.get("items") or []
    if not items:
        print(f"no sessions in the last {_escaped(str(page.get('window', '?')))}")
    else:
        print(_SESSION_HEADER)
    for item in items:
        print(_session_line(item))
    if page.get("truncated"):
        read = page.get("rows_read")
        print(f"the window held more than {read} decisions: scored on its newest {read}", file=sys.stderr)
    return EXIT_OK


def _sessions_show(args: argparse.Namespace) -> int:
    from thoth_api_client.api.sessions import get_session
    from thoth_api_client.types import UNSET

    with _client(args) as client:
        response = _checked(
            get_session.sync_detailed,
            client=client,
            session_id=args.session_id,
            window=args.window or UNSET,
            tenant_id=args.tenant or UNSET,
        )
    session = _json_document(response)
    if args.json:
        _print_json(session)
        return EXIT_OK
    for line in _session_report(session):
        print(line)
    return EXIT_OK


def _json_document(response: Any) -> dict[str, Any]:
    """The JSON object a generated ``sync_detailed`` received, as the server sent it."""
    import json

    try:
        document = json.loads(response.content)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise CliError(f"HTTP {int(response.status_code)}: the answer is not a JSON object")
    return document


def _print_json(document: Any) -> None:
    """``document`` as JSON in ASCII: what an agent named (a C1 control, a bidi override) is
    escaped, as JSON escapes C0 controls, so it cannot act on the terminal."""
    import json

    print(json.dumps(document, indent=2))


_SESSION_HEADER: Final = f"{'SCORE':7}  {'LAST ACTIVE':20}  {'CALLS':>5}  {'AGENT':20}  SESSION  REASONS"


def _score_text(anomaly: Any) -> str:
    score = _object(anomaly).get("score")
    return f"{score:.4f}" if isinstance(score, int | float) else "-"


def _anomaly_summary(anomaly: Any) -> str:
    """The first reason (and how many more), or why there is no score."""
    anomaly = _object(anomaly)
    if anomaly.get("status") == "insufficient_baseline":
        return f"insufficient baseline ({anomaly.get('baseline_sessions')} other sessions)"
    reasons = [r for r in anomaly.get("reasons") or [] if isinstance(r, dict)]
    if not reasons:
        return ""
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return _escaped(str(reasons[0].get("message", ""))) + more


def _session_line(item: dict[str, Any]) -> str:
    anomaly = item.get("anomaly")
    last = _seconds_time(item.get("last_at"))
    agent = _escaped(str(item.get("agent_id", "")))
    session = _escaped(str(item.get("session_id", "")))
    line = f"{_score_text(anomaly):7}  {last:20}  {item.get('calls', 0):>5}  {agent:20}  {session}  "
    return (line + _anomaly_summary(anomaly)).rstrip()


def _seconds_time(value: object) -> str:
    """An RFC 3339 time from the server to the second (``2026-12-01T16:23:04Z``)."""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return _escaped(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _session_report(session: dict[str, Any]) -> list[str]:
    decisions = _object(session.get("decisions"))
    counts = ", ".join(f"{_escaped(str(name))} {n}" for name, n in decisions.items() if n)
    anomaly = _object(session.get("anomaly"))
    lines = [
        f"session   {_escaped(str(session.get('session_id', '')))}",
        f"tenant    {_escaped(str(session.get('tenant_id', '')))}",
        f"agent     {_escaped(str(session.get('agent_id', '')))}",
        f"calls     {session.get('calls')} ({counts or 'none'})",
        f"first     {_escaped(str(session.get('first_at', '')))}",
        f"last      {_escaped(str(session.get('last_at', '')))}",
        f"score     {_score_text(anomaly)}  {_measured_against(anomaly)}",
    ]
    reasons = [r for r in anomaly.get("reasons") or [] if isinstance(r, dict)]
    lines += [f"  - {_escaped(str(reason.get('message', '')))}" for reason in reasons]
    return lines


def _object(value: Any) -> dict[str, Any]:
    """A JSON object of the answer, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _measured_against(anomaly: dict[str, Any]) -> str:
    others = f"{anomaly.get('baseline_sessions')} other sessions of the agent"
    if anomaly.get("status") == "insufficient_baseline":
        return f"insufficient baseline: {others}, too few to learn from"
    cut = "; the window was cut to its newest decisions" if anomaly.get("baseline_truncated") else ""
    signals = [f"{name} {anomaly.get(key)}" for name, key in _SIGNALS]
    return f"against {others} ({', '.join(signals)}){cut}"


_SIGNALS: Final = (("new tools", "new_tools"), ("sequence z", "sequence_z"), ("rate z", "rate_z"))


def _events_tail(args: argparse.Namespace) -> int:
    from thoth_api_client.api.events import list_events
    from thoth_api_client.types import UNSET

    cursor: Any = UNSET
    printed = 0
    with _client(args) as client:
        while True:
            page = _call(
                list_events.sync_detailed,
                client=client,
                session_id=args.session or UNSET,
                limit=1000,
                cursor=cursor,
            )
            for event in page.items:
                if not printed:
                    print(_EVENT_HEADER)
                printed += 1
                _print_event(event)
            if not printed and not args.follow:
                where = f" for session {_escaped(args.session)}" if args.session else ""
                print(f"no events{where}", file=sys.stderr)
            if isinstance(page.next_cursor, str) and page.next_cursor:
                cursor = page.next_cursor  # the server gives one after every non-empty page
                if page.items:
                    continue
            if not args.follow:
                return EXIT_OK
            time.sleep(args.interval)


def _events_export(args: argparse.Namespace) -> int:
    """Page through GET /v1/events, writing each page before asking for the next."""
    import json

    from thoth_api_client.api.events import list_events
    from thoth_api_client.types import UNSET

    from thoth import _export

    now = dt.datetime.now(dt.UTC)
    try:
        since = _export.parse_moment(args.since, now) if args.since else None
        until = _export.parse_moment(args.until, now) if args.until else None
    except ValueError as exc:
        raise CliError(f"--since/--until: {exc}") from None
    summary = _export.ChainSummary()
    line = _export.jsonl_line if args.format == "jsonl" else _export.csv_row
    with _export_target(args.out) as out, _client(args) as client:
        if args.format == "csv":
            out.write(_export.csv_header())
        cursor: Any = UNSET
        while True:
            response = _checked(
                list_events.sync_detailed,
                client=client,
                session_id=args.session or UNSET,
                since=dt.datetime.fromisoformat(since) if since else UNSET,
                until=dt.datetime.fromisoformat(until) if until else UNSET,
                limit=1000,
                cursor=cursor,
            )
            page = json.loads(response.content)
            for event in page["items"]:
                out.write(line(event))
                summary.add(event)
            cursor = page.get("next_cursor")
            if not page["items"] or not cursor:
                break
    for text in summary.lines():
        print(text, file=sys.stderr)
    return EXIT_OK


@contextlib.contextmanager
def _export_target(path: str | None) -> Iterator[Any]:
    """The file given (created with mode 0600: it holds an audit trail), else standard output."""
    if path is None:
        yield sys.stdout
        return
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {_os_reason(exc)}") from None
    with open(descriptor, "w", encoding="utf-8", newline="") as handle:
        yield handle


_EVENT_HEADER: Final = f"{'OCCURRED (agent clock)':27}  SESSION  {'EVENT':16}  {'TOOL':20}  CHAIN"


def _print_event(event: Any) -> None:
    """One event: the time it happened (the agent's clock, as sent), not the batch's arrival."""
    tool = _escaped(event.tool_name) if isinstance(event.tool_name, str) else ""
    chain = event.chain_status if isinstance(event.chain_status, str) else "-"
    session = _escaped(str(event.session_id))
    occurred = _escaped(_wire_time(event.occurred_at))
    line = f"{occurred:27}  {session}  {event.event_type:16}  {tool:20}  chain={chain}"
    decision = event.decision_id if isinstance(event.decision_id, str) and event.decision_id else None
    joined = f"  decision={_escaped(decision)}" if decision else ""
    print(line + joined + _decided_by(event) + _approved_by(event))
    sys.stdout.flush()


def _wire_time(moment: object) -> str:
    """An RFC 3339 time as the wire spells it (``...Z`` for UTC), not Python's ``str()``."""
    if not isinstance(moment, dt.datetime):
        return str(moment)
    text = moment.isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def _approved_by(event: Any) -> str:
    """``  approver=alice@acme.com`` for the event of a call a human resolved (a step-up)."""
    metadata = getattr(event, "metadata", None)
    approver = metadata.get("approver") if isinstance(metadata, dict) else None
    return f"  approver={_escaped(approver)}" if isinstance(approver, str) and approver else ""


def _decided_by(event: Any) -> str:
    """``  local ALLOW (rule, ...) policy V`` for an event of a call decided in process."""
    metadata = getattr(event, "metadata", None)
    properties = metadata if isinstance(metadata, dict) else {}
    local = properties.get("local_decision")
    if not isinstance(local, dict):
        return ""
    rules = ",".join(str(rule) for rule in local.get("matched_rule_ids") or ())
    text = f"local {local.get('decision')} ({rules}) policy {local.get('policy_version')}"
    return "  " + _escaped(text)


def _doctor(args: argparse.Namespace) -> int:
    """Check what the SDK needs: a usable URL, a key, a reachable server that accepts the key,
    and a clock close to the server's (hold expiry and event times depend on it)."""
    import datetime as dt
    from urllib.parse import urlsplit

    import httpx

    from thoth.models import is_loopback

    problems = 0

    def report(ok: bool, what: str) -> None:
        nonlocal problems
        problems += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}")

    url = (args.url or "").rstrip("/")
    parts = urlsplit(url)
    report(parts.scheme in ("http", "https") and bool(parts.hostname), _url_verdict(url, parts))
    if parts.scheme == "http" and parts.hostname and not is_loopback(parts.hostname):
        print("warn plain http to a non-loopback host: the API key travels unencrypted")
    report(bool(args.api_key), "API key " + ("set" if args.api_key else "not set (THOTH_API_KEY)"))
    if problems:
        return EXIT_FAILED
    timeout = httpx.Timeout(args.timeout, connect=min(args.timeout, 5.0))
    with httpx.Client(base_url=url, timeout=timeout) as http:
        try:
            started = time.perf_counter()
            health = http.get("/healthz")
            elapsed_ms = (time.perf_counter() - started) * 1000
        except httpx.HTTPError as exc:
            report(False, f"reach {_escaped(url)}/healthz: {_unreachable(exc)}")
            return EXIT_FAILED
        report(health.status_code == 200, f"reach /healthz: HTTP {health.status_code} in {elapsed_ms:.0f} ms")
        body = _json_or_empty(health)
        server_time = body.get("time")
        if isinstance(server_time, str):
            try:
                skew = abs(
                    dt.datetime.fromisoformat(server_time.replace("Z", "+00:00")).timestamp() - time.time()
                )
                report(skew < 30, f"clock within {skew:.1f} s of the server's")
            except ValueError:
                report(False, "server time unreadable")
        headers = {"Authorization": f"Bearer {args.api_key}"}
        try:
            auth = http.get("/v1/holds", params={"limit": 1}, headers=headers)
        except httpx.HTTPError as exc:
            report(False, f"authenticated request: {type(exc).__name__}")
            return EXIT_FAILED
        verdict = {200: "accepted", 401: "rejected (401)", 403: "refused (403)"}.get(
            auth.status_code, f"HTTP {auth.status_code}"
        )
        report(auth.status_code == 200, f"API key {verdict}{_key_hint(args.api_key, auth.status_code)}")
    print("all checks passed" if not problems else f"{problems} check(s) failed")
    return EXIT_OK if not problems else EXIT_FAILED


def _url_verdict(url: str, parts: Any) -> str:
    if not url:
        return "URL not set: give --url or set THOTH_API_URL (e.g. http://127.0.0.1:8787)"
    shown = _escaped(url)
    if parts.scheme not in ("http", "https"):
        return f"URL {shown}: no http:// or https:// scheme (did you mean http://{shown}?)"
    if not parts.hostname:
        return f"URL {shown}: no host name"
    return f"URL {shown}"


def _unreachable(exc: Exception) -> str:
    """Why a server could not be reached, with the system's own words (errno) when there are some."""
    import errno as errno_names

    cause: BaseException | None = exc
    while cause is not None:
        number = getattr(cause, "errno", None)
        if isinstance(number, int) and number:
            name = errno_names.errorcode.get(number, str(number))
            return f"{type(exc).__name__} ({name}: {os.strerror(number)}); is thoth serve running there?"
        cause = cause.__cause__ or cause.__context__
    return f"{type(exc).__name__}: {_escaped(str(exc))[:200]}"


def _key_hint(key: str, status: int) -> str:
    """A 401 for a ``TENANT:KEY`` string: the tenant belongs to the server's --api-key, not the client's."""
    if status == 401 and ":" in key:
        return (
            "; the key contains ':': TENANT:KEY is how the server binds a key to a tenant (thoth serve "
            "--api-key), the client sends only the KEY part"
        )
    return ""


def _json_or_empty(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


if __name__ == "__main__":
    sys.exit(main())

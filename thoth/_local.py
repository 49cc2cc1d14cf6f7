"""Decisions in process (``decision_mode="local"``): the enforcer's policy bundle, kept fresh.

A :class:`BundleSource` holds the last good bundle from one enforcer (per endpoint, key and
bundle settings; shared by every local-mode agent of the process), the session records its
decisions read, and the on-disk copy that lets a restarted process decide before the enforcer
answers. One thread per process (:class:`BundleRefresher`, kept by the Runtime) refreshes
every source with ``If-None-Match``; a 304 only confirms the bundle is still current.

:class:`LocalEnforcer` has the interface of :class:`~thoth.enforcer_client.EnforcerClient`:
ALLOW, BLOCK and MODIFY are decided here by :mod:`thoth.policy` (the engine ``thoth serve``
runs); STEP_UP and DEFER are asked of the enforcer, where holds live. While the enforcer cannot
be reached the last good bundle keeps deciding until it is ``bundle_max_age_seconds`` old; then,
as before the first bundle, every call fails closed (``bundle_stale``, ``bundle_missing``).
A bundle that cannot be trusted (bad digest or signature, newer engine, a policy that does not
load, a corrupt cache) is refused with one log line and the last good one stays in force.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs
import httpx

from thoth import _failures, policy
from thoth._decisions import EnforcementDecision, block
from thoth._ids import random_hex
from thoth._wire import GET_POLICY_BUNDLE, DecisionType
from thoth.enforcer_client import EnforcerClient, log_failed_closed, wire_args
from thoth.errors import ReasonCode, ThothConfigError
from thoth.policy.session import utc_day as _utc_day

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from thoth._transport import Transport
    from thoth.errors import ThothPolicyViolation
    from thoth.explanations import Explanation
    from thoth.models import ThothConfig
    from thoth.policy.bundle import Bundle

__all__ = ["BundleRefresher", "BundleSource", "LocalEnforcer", "source_key"]

logger = logging.getLogger("thoth.local")

_MAX_SESSIONS: Final = 10_000  # session records kept in process, least recently used dropped
_INLINE_RETRY_SECONDS: Final = 1.0  # without a bundle, a call may try a fetch at most this often
_FORWARDED: Final = frozenset({DecisionType.STEP_UP.value, DecisionType.DEFER.value})
_INSTALL: Final = "decision_mode='local' needs the policy engine: pip install 'thoth-sdk[local]'"


@attrs.frozen
class _Problem:
    """Why there is no bundle to decide with (each call fails closed with it)."""

    reason: str
    reason_code: str


class BundleSource:
    """The last good bundle from one enforcer, and the session records local decisions read."""

    def __init__(
        self,
        transport: Transport,
        *,
        public_key: Ed25519PublicKey | None,
        refresh_seconds: float,
        max_age_seconds: float,
        cache_file: Path | None,
        timeout_seconds: float,
    ) -> None:
        self._transport = transport
        self._public_key = public_key
        self.refresh_seconds = refresh_seconds
        self._max_age = max_age_seconds
        self._cache_file = cache_file
        self._timeout = timeout_seconds
        self._lock = threading.Lock()  # one decision at a time reads and writes the session records
        self._fetch_lock = threading.Lock()
        self._bundle: Bundle | None = None
        self._etag: str | None = None
        self._confirmed_at = 0.0  # wall clock (kept on disk) of the last answer that confirmed it
        self._sessions: collections.OrderedDict[tuple[str, str], Any] = collections.OrderedDict()
        self._agent_tokens: dict[tuple[str, str, str], int] = {}  # (tenant, agent, UTC day) -> tokens
        self._last_problem: str | None = None
        self._next_inline = 0.0
        self.due = 0.0  # monotonic time of the next background refresh
        self.refresher: BundleRefresher | None = None  # set when added to one

    def __repr__(self) -> str:
        version = self._bundle.policy_version if self._bundle else None
        return f"BundleSource(url={self._transport.base_url!r}, policy_version={version!r})"

    def after_fork(self) -> None:
        """In a forked child: locks another thread held at the fork are not ours."""
        self._lock = threading.Lock()
        self._fetch_lock = threading.Lock()

    # ---- the bundle -----------------------------------------------------------------------
    @property
    def bundle(self) -> Bundle | None:
        return self._bundle

    def current(self, now: float) -> Bundle | _Problem:
        bundle = self._bundle
        if bundle is None:
            why = self._last_problem or "no policy bundle has been fetched yet"
            return _Problem(f"no policy bundle to decide with ({why})", ReasonCode.BUNDLE_MISSING)
        age = now - self._confirmed_at
        if age > self._max_age:
            return _Problem(
                f"the policy bundle was last confirmed {age:.0f} s ago, more than bundle_max_age_seconds "
                f"({self._max_age:g}); the enforcer could not be reached since",
                ReasonCode.BUNDLE_STALE,
            )
        return bundle

    def refresh(self) -> bool:
        """One ``GET /v1/policy/bundle`` (``If-None-Match``). True when the bundle is current."""
        with self._fetch_lock:
            headers = {"If-None-Match": self._etag} if self._etag and self._bundle else {}
            try:
                response = self._transport.sync_client.request(
                    GET_POLICY_BUNDLE.method, GET_POLICY_BUNDLE.path, headers=headers, timeout=self._timeout
                )
            except httpx.HTTPError as exc:
                return self._refused(_failures.from_exception(exc).reason)
            if response.status_code == 304 and self._bundle is not None:
                self._confirmed_at = time.time()
                self._last_problem = None
                return True
            if response.status_code != 200:
                failure = _failures.from_status(response.status_code, response.headers, response.content)
                return self._refused(f"bundle request failed: {failure.reason}")
            return self._accept(response.content, response.headers.get("etag"))

    def _accept(self, body: bytes, etag: str | None) -> bool:
        from thoth.policy.bundle import BundleError, parse_bundle, read_bundle

        try:
            bundle = read_bundle(parse_bundle(body), self._public_key, source="bundle")
        except BundleError as exc:
            return self._refused(f"refused the policy bundle: {exc}")
        changed = self._bundle is None or self._bundle.sha256 != bundle.sha256
        self._bundle, self._etag, self._confirmed_at = bundle, etag, time.time()
        self._last_problem = None
        if changed:
            logger.info("thoth: deciding locally with policy %s", bundle.policy_version)
            self._save()
        return True

    def _refused(self, problem: str) -> bool:
        if problem != self._last_problem:  # one line per new problem, not one per refresh
            kept = " (the last good bundle stays in force)" if self._bundle is not None else ""
            logger.warning("thoth: %s%s", problem, kept)
        self._last_problem = problem
        return False

    def fetch_if_missing(self, *, wait: bool) -> None:
        """Without a bundle, a call asks for one (at most once a second across calls): fetched
        at once when it may ``wait`` (a sync call), else by the refresh thread right away."""
        now = time.monotonic()
        if self._bundle is not None or now < self._next_inline:
            return
        self._next_inline = now + _INLINE_RETRY_SECONDS
        if wait:
            self.refresh()
        elif self.refresher is not None:
            self.due = 0.0
            self.refresher.wake()

    # ---- the on-disk copy -----------------------------------------------------------------
    def load_cached(self) -> None:
        """Start from the last good bundle on disk, if it is still trusted (same checks as a fetch)."""
        from thoth.policy.bundle import BundleError, read_bundle

        path = self._cache_file
        if path is None or not path.exists():
            return
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            bundle = read_bundle(saved["bundle"], self._public_key, source=f"cached bundle {path}")
            confirmed_at = float(saved["confirmed_at"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reason = str(exc) if isinstance(exc, BundleError) else f"unreadable ({type(exc).__name__})"
            self._refused(f"ignored the cached policy bundle {path}: {reason}")
            return
        self._bundle, self._etag, self._confirmed_at = bundle, saved.get("etag"), confirmed_at

    def _save(self) -> None:
        path, bundle = self._cache_file, self._bundle
        if path is None or bundle is None:
            return
        record = {"bundle": bundle.data, "etag": self._etag, "confirmed_at": self._confirmed_at}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(record, file)
            os.replace(temporary, path)  # readers see the old copy or the new one, never half
        except OSError as exc:
            logger.warning("thoth: cannot keep the policy bundle in %s: %s", path.parent, exc.strerror)

    # ---- decisions ------------------------------------------------------------------------
    def decide(self, call: policy.Call, session_id: str) -> dict[str, Any] | _Problem:
        """The enforce answer for ``call`` in ``session_id``, decided here."""
        refresher = self.refresher
        if refresher is not None and refresher.stopped:  # thoth.close() stopped it; calls go on
            refresher.start()
        now = time.time()
        bundle = self.current(now)
        if isinstance(bundle, _Problem):
            return bundle
        with self._lock:
            agent_tokens = self._agent_tokens.get((call.tenant, call.agent, _utc_day(now)), 0)
            record = self._record(call.tenant, session_id)
            decided = policy.decide(bundle.policy, call, record, now, agent_tokens_today=agent_tokens)
        response = policy.answer(decided, bundle.policy_version, bundle.policy.hold_timeout_seconds)
        if decided.outcome.decision is DecisionType.BLOCK:
            response["violation_id"] = "vio_local_" + random_hex(64)
        response["decided_by"] = "local"
        response["bundle_sha256"] = bundle.sha256
        return response

    def concluded(
        self, tenant: str, session_id: str, tool: str, ran: bool, hold_denied: bool = False
    ) -> None:
        """What became of a call the enforcer decided (a hold, a DEFER): the records learn it."""
        with self._lock:
            record = self._record(tenant, session_id)
            if ran:
                record.ran(tool, time.time())
            elif hold_denied:
                record.hold_denied()
            else:
                record.refused(tool)

    def spent(self, tenant: str, agent: str, session_id: str, tokens: int) -> None:
        """LLM tokens this process spent (what token limits count here: this process's own)."""
        day = _utc_day(time.time())
        with self._lock:
            self._record(tenant, session_id).spent(tokens)
            key = (tenant, agent, day)
            if key not in self._agent_tokens:  # a new agent or a new day: drop other days' counts
                self._agent_tokens = {k: v for k, v in self._agent_tokens.items() if k[2] == day}
            self._agent_tokens[key] = self._agent_tokens.get(key, 0) + tokens

    def _record(self, tenant: str, session_id: str) -> policy.SessionRecord:
        key = (tenant, session_id)
        record = self._sessions.get(key)
        if record is None:
            record = self._sessions[key] = policy.SessionRecord()
            if len(self._sessions) > _MAX_SESSIONS:
                self._sessions.popitem(last=False)
        else:
            self._sessions.move_to_end(key)
        return record


class LocalEnforcer:
    """Decides in process from a :class:`BundleSource`; asks ``remote`` for STEP_UP and DEFER."""

    def __init__(self, config: ThothConfig, remote: EnforcerClient, source: BundleSource) -> None:
        self._config = config
        self._remote = remote
        self._source = source
        # What every call of this agent shares, read once from the body the SDK would send
        # (Call.from_request of that body is what the enforcer decides: tests/unit/test_local_calls.py).
        template = policy.Call.from_request(remote._body("-", "-", [], None))
        self._static = {
            name: getattr(template, name)
            for name in ("agent", "user", "tenant", "environment", "mode", "approved_scope", "context")
        }

    def __repr__(self) -> str:
        return f"LocalEnforcer(agent_id={self._config.agent_id!r}, source={self._source!r})"

    @property
    def source(self) -> BundleSource:
        return self._source

    def call(self, tool_name: str, tool_args: dict[str, Any] | None) -> policy.Call:
        """The call as the policy sees it: what ``Call.from_request`` makes of the body the SDK
        would send, without building that body."""
        args = wire_args(tool_args) if tool_args is not None else {}
        return policy.Call(tool=tool_name, args=args, **self._static)

    def answer(
        self, tool_name: str, session_id: str, tool_args: dict[str, Any] | None = None
    ) -> dict[str, Any] | _Problem:
        """The answer decided here for one call (no request is sent)."""
        return self._source.decide(self.call(tool_name, tool_args), session_id)

    def check(
        self,
        tool_name: str,
        session_id: str,
        tool_calls: list[str],
        tool_args: dict[str, Any] | None = None,
        *,
        shadow: bool = False,
        decision_id: str | None = None,
        trace_headers: Mapping[str, str] | None = None,
    ) -> EnforcementDecision:
        """Decide one call. Never raises; any failure is a BLOCK with a reason code.
        ``trace_headers``: sent with a request the enforcer must answer (see EnforcerClient)."""
        try:
            self._source.fetch_if_missing(wait=True)
            answer = self.answer(tool_name, session_id, tool_args)
            decision = self._decided(tool_name, answer, shadow=shadow)
        except Exception as exc:  # noqa: BLE001 - a bug here must still not let the tool run
            return _failed(tool_name, _failures.from_exception(exc).reason, ReasonCode.ENFORCER_ERROR, shadow)
        if decision is not None:
            return decision
        remote = self._remote.check(
            tool_name,
            session_id,
            tool_calls,
            tool_args,
            shadow=shadow,
            decision_id=decision_id,
            trace_headers=trace_headers,
        )
        return self._after_remote(tool_name, session_id, remote)

    async def acheck(
        self,
        tool_name: str,
        session_id: str,
        tool_calls: list[str],
        tool_args: dict[str, Any] | None = None,
        *,
        decision_id: str | None = None,
        trace_headers: Mapping[str, str] | None = None,
    ) -> EnforcementDecision:
        """Async :meth:`check`: a local decision is a few microseconds of CPU, taken inline."""
        try:
            self._source.fetch_if_missing(wait=False)  # never a blocking request on the event loop
            decision = self._decided(tool_name, self.answer(tool_name, session_id, tool_args))
        except Exception as exc:  # noqa: BLE001 - a bug here must still not let the tool run
            return _failed(tool_name, _failures.from_exception(exc).reason, ReasonCode.ENFORCER_ERROR)
        if decision is not None:
            return decision
        remote = await self._remote.acheck(
            tool_name, session_id, tool_calls, tool_args, decision_id=decision_id, trace_headers=trace_headers
        )
        return self._after_remote(tool_name, session_id, remote)

    def _decided(
        self, tool_name: str, answer: dict[str, Any] | _Problem, *, shadow: bool = False
    ) -> EnforcementDecision | None:
        """The local decision, or None for one the enforcer must take (STEP_UP and DEFER)."""
        if isinstance(answer, _Problem):
            return _failed(tool_name, answer.reason, answer.reason_code, shadow)
        if answer["decision"] in _FORWARDED:
            return None
        return as_decision(answer)

    def _after_remote(
        self, tool_name: str, session_id: str, decision: EnforcementDecision
    ) -> EnforcementDecision:
        """The enforcer's answer to a forwarded call; what it decides at once, the records learn."""
        if decision.decision.value not in _FORWARDED:
            ran = decision.decision in (DecisionType.ALLOW, DecisionType.MODIFY)
            self._source.concluded(self._config.tenant_id, session_id, tool_name, ran)
        return decision

    def hold_concluded(self, tool_name: str, session_id: str, approved: bool) -> None:
        """A hold the enforcer made was approved (the call runs) or denied or timed out."""
        self._source.concluded(
            self._config.tenant_id, session_id, tool_name, approved, hold_denied=not approved
        )

    def tokens_spent(self, session_id: str, tokens: int) -> None:
        """This process's LLM tokens, for the policy's token limits decided here."""
        self._source.spent(self._config.tenant_id, self._config.agent_id, session_id, tokens)

    def explain(self, violation: ThothPolicyViolation, session_id: str) -> Explanation:
        return self._remote.explain(violation, session_id)

    async def aexplain(self, violation: ThothPolicyViolation, session_id: str) -> Explanation:
        return await self._remote.aexplain(violation, session_id)

    def close(self) -> None:
        """Kept for EnforcerClient's interface: the pool and the bundle source are shared."""

    async def aclose(self) -> None:
        """Kept for EnforcerClient's interface."""


def as_decision(answer: dict[str, Any]) -> EnforcementDecision:
    """A local ALLOW, BLOCK or MODIFY as the SDK acts on it: what ``normalize_enforce_payload``
    makes of the same answer (tests/e2e/test_local_differential.py checks), without its checks
    for answers an enforcer got wrong: this one was made here, by thoth.policy."""
    return EnforcementDecision(
        _DECISIONS[answer["decision"]],
        reason=answer["reason"],
        reason_code=answer["decision_reason_code"],
        violation_id=answer.get("violation_id"),
        modified_args=answer.get("modified_tool_args"),
        matched_rule_ids=tuple(answer["matched_rule_ids"]),
        raw=answer,
    )


_DECISIONS: Final = {
    kind.value: kind for kind in (DecisionType.ALLOW, DecisionType.BLOCK, DecisionType.MODIFY)
}


def _failed(tool_name: str, reason: str, reason_code: str, shadow: bool = False) -> EnforcementDecision:
    log_failed_closed(tool_name, reason, shadow=shadow)
    return block(reason, reason_code)


# ---- the one refresh thread -------------------------------------------------------------------
class BundleRefresher:
    """One daemon thread that refreshes every bundle source of the process when it is due."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: list[BundleSource] = []
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def stopped(self) -> bool:
        return self._thread is None

    def add(self, source: BundleSource) -> None:
        with self._lock:
            source.due = time.monotonic() + source.refresh_seconds
            source.refresher = self
            self._sources.append(source)
        self.start()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="thoth-bundles", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            with self._lock:
                sources = list(self._sources)
            for source in sources:
                if source.due <= now and not self._stopping:
                    source.due = now + source.refresh_seconds
                    try:
                        source.refresh()
                    except Exception:
                        logger.exception("thoth: policy bundle refresh failed")
            nearest = min((s.due for s in sources), default=now + 60.0)
            self._wake.wait(max(0.01, nearest - time.monotonic()))
            self._wake.clear()

    def close(self, timeout: float) -> bool:
        self._stopping = True
        self._wake.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()


# ---- configuration ----------------------------------------------------------------------------
def source_key(config: ThothConfig) -> tuple[Any, ...]:
    """Agents whose bundles come from the same place with the same checks share one source."""
    key = config.resolved_api_key or ""
    return (
        config.resolved_api_url,
        hashlib.sha256(key.encode()).hexdigest(),
        config.bundle_public_key or "",
        config.bundle_refresh_seconds,
        config.bundle_max_age_seconds,
        str(cache_file(config)),
    )


def new_source(config: ThothConfig, transport: Transport) -> BundleSource:
    """A source for ``config``: its bundle from the on-disk copy, else fetched now (bounded)."""
    try:
        import thoth.policy  # noqa: F401 - fail at start, not at the first call
        from thoth.policy import cel

        cel.default_engine()
    except ImportError:
        raise ThothConfigError(_INSTALL) from None
    source = BundleSource(
        transport,
        public_key=_public_key(config.bundle_public_key),
        refresh_seconds=config.bundle_refresh_seconds,
        max_age_seconds=config.bundle_max_age_seconds,
        cache_file=cache_file(config),
        timeout_seconds=min(config.decision_timeout_seconds, config.request_timeout_seconds),
    )
    source.load_cached()
    source.refresh()
    return source


def cache_file(config: ThothConfig) -> Path | None:
    """Where this endpoint's last good bundle is kept: named by a digest of the URL and key,
    never by the key itself."""
    folder = config.bundle_cache_dir
    if folder is None:
        folder = os.environ.get("THOTH_BUNDLE_CACHE_DIR")
    if folder is None:
        folder = str(Path.home() / ".cache" / "thoth" / "bundles")
    if not folder:
        return None
    name = hashlib.sha256(f"{config.resolved_api_url}\n{config.resolved_api_key or ''}".encode()).hexdigest()
    return Path(folder).expanduser() / f"bundle-{name[:24]}.json"


def _public_key(configured: str | None) -> Ed25519PublicKey | None:
    if configured is None:
        return None
    from thoth import _signing

    text = configured.strip()
    if not text.startswith("-----BEGIN"):
        try:
            text = Path(text).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ThothConfigError(f"bundle_public_key: cannot read {configured!r}: {exc}") from None
    try:
        return _signing.load_public_key(text, source="bundle_public_key")
    except _signing.SigningKeyError as exc:
        raise ThothConfigError(f"bundle_public_key: {exc}") from None

"""What the enforcer does for each request, between HTTP (app.py) and the store."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import anyio.to_thread
import attrs

from thoth import receipts
from thoth.policy import Call, Decision, Policy, PolicyError, answer, decide
from thoth.policy import bundle as bundles
from thoth.policy.session import utc_day
from thoth.server import auth, cursors, store
from thoth.server import holds as holds_mod
from thoth.server.auth import KeyRing, Principal
from thoth.server.config import ServerConfig, read_policy
from thoth.server.errors import ApiError
from thoth.server.explain import DecisionFacts
from thoth.server.explain import explain as explain_decision
from thoth.server.migrate import prepare as prepare_schema
from thoth.server.notify import Notifier
from thoth.server.replay import request_document
from thoth.server.schemas import (
    DECISION_ID_PATTERN,
    EnforceRequest,
    EventIdError,
    ExplainRequest,
    ResolveHoldRequest,
    ToolInventory,
    canonical_event_id,
)
from thoth.server.slack import SlackSender
from thoth.server.state import Txn
from thoth.server.writer import Writer

log = logging.getLogger("thoth.server.decisions")
_DECISION_ID = re.compile(DECISION_ID_PATTERN)


@attrs.frozen
class ActivePolicy:
    """The policy in force and its version, swapped as one (a reload never mixes the two)."""

    policy: Policy
    version: str


@attrs.frozen
class PolicyBundle:
    """``GET /v1/policy/bundle``'s answer for one policy: the JSON body and its ETag."""

    policy: Policy
    body: bytes
    etag: str


class Enforcer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.active = ActivePolicy(config.policy, config.policy_version)
        prepare_schema(config.db_url, migrate=config.migrate)
        self.engine = store.create_engine(
            config.db_url, pool_size=config.db_pool_size, sqlite_synchronous=config.sqlite_synchronous
        )
        self.keys = KeyRing(
            config.api_keys, config.admin_keys, config.insecure_dev, secret=self._key_secret()
        )
        self.writer = self._new_writer()
        self.notifier = Notifier(config.webhook_url)
        self.slack = _slack_sender(config)
        self._bundle: PolicyBundle | None = None

    def _key_secret(self) -> bytes:
        """The store's key-digest secret (see thoth.server.auth), created by the first replica
        that starts on it. Read once, before any request: the writer has not started writing."""
        with self.engine.begin() as conn:
            stored = store.server_secret(conn, auth.SECRET_NAME, auth.new_secret(), time.time())
        return auth.secret_bytes(stored)

    def _new_writer(self) -> Writer:
        return Writer(self.engine, self.config.store_timeout_seconds, self.config.session_cache_size)

    def open(self) -> None:
        """(Re)start the writer after a previous lifespan closed it (test clients do that)."""
        if self.writer.closed:
            self.writer = self._new_writer()

    async def aclose(self) -> None:
        await self.notifier.aclose()
        if self.slack is not None:
            await self.slack.aclose()
        await anyio.to_thread.run_sync(self.writer.close)
        self.engine.dispose()

    async def store_reachable(self) -> bool:
        return await anyio.to_thread.run_sync(store.ping, self.engine)

    def close(self) -> None:
        self.writer.close()
        self.engine.dispose()

    # -- decisions --------------------------------------------------------------------------------

    async def decide(self, principal: Principal, request: EnforceRequest) -> dict[str, Any]:
        """Decide and record the decision in one transaction with the session it reads."""
        started = time.perf_counter()
        if not principal.may_act_for(request.tenant_id):
            raise ApiError(403, "forbidden", "this key may not act for that tenant")
        call = Call.from_request(request)
        key = (request.tenant_id, request.session_id)
        # encoded and scrubbed here, off the writer's thread, which serialises every decision
        recorded = request_document(request, predates_modify=_predates_modify(request))
        decided: tuple[dict[str, Any], dict[str, Any] | None] = await self.writer.submit(
            partial(self._decide_in, request, call, started, recorded), [key]
        )
        response, hold = decided
        if self.config.receipt_signer is not None:  # after the commit: the writer's path stays short
            response["receipt"] = self.config.receipt_signer.issue(_receipt_claims(request, response))
        if hold is not None:
            self.notifier.hold_created(holds_mod.to_hold(hold, hold["created_at"]))
            if self.slack is not None:
                self.slack.hold_created(hold, response.get("approval_url"))
        log.debug(  # the store keeps every decision; this is for tracing
            "decision %s tool=%s rules=%s code=%s latency_ms=%.3f",
            response["decision"],
            request.tool_name,
            ",".join(response["matched_rule_ids"]),
            response["decision_reason_code"],
            response["latency_ms"],
        )
        return response

    def _decide_in(
        self, request: EnforceRequest, call: Call, started: float, recorded: str | None, txn: Txn
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """In the writer's transaction: the policy reads the session as stored, and the decision,
        the session's new record and any hold are written before the answer leaves."""
        now = txn.now
        record = txn.session((request.tenant_id, request.session_id))
        active = self.active
        agent_tokens = 0
        if active.policy.counts_agent_tokens:  # one keyed read, only for a policy that needs it
            agent_tokens = store.agent_tokens_on(txn.conn, request.tenant_id, request.agent_id, utc_day(now))
        decided = decide(
            active.policy,
            call,
            record,
            now,
            predates_modify=_predates_modify(request),
            agent_tokens_today=agent_tokens,
        )
        result, decision = decided.result, decided.outcome.decision
        response = answer(decided, active.version, active.policy.hold_timeout_seconds)
        response["decision_id"] = decision_id_of(request)
        if decision in (Decision.BLOCK, Decision.STEP_UP):
            response["violation_id"] = "vio_" + secrets.token_hex(8)
        hold = None
        if decision is Decision.STEP_UP:
            timeout = response["step_up_timeout_seconds"]
            hold = _hold_row(request, result.rule_id, decided.outcome.reason, timeout, now)
            hold["decision_id"] = response["decision_id"]
            response["hold_token"] = hold["hold_token"]
            response["hold_ref"] = hold["hold_ref"]
            if self.config.public_url is not None:
                response["approval_url"] = f"{self.config.public_url}/ui/holds/{hold['hold_ref']}"
            store.insert_hold(txn.conn, hold)
        latency_ms = (time.perf_counter() - started) * 1000.0
        response["latency_ms"] = round(latency_ms, 3)
        row = _decision_row(request, response, decided.outcome.shadow_decision, decided.fact, latency_ms, now)
        row["request"] = recorded
        txn.log_decision(row)
        return response, hold

    # -- holds ------------------------------------------------------------------------------------

    async def _visible_hold(self, principal: Principal | None, token: str) -> dict[str, Any]:
        """The hold, if ``principal`` may see it; ``None`` is a caller holding only the token."""
        row = await anyio.to_thread.run_sync(store.get_hold, self.engine, token)
        if row is None or (principal is not None and not principal.may_act_for(row["tenant_id"])):
            raise ApiError(404, "not_found", "no such hold")
        return row

    async def hold_status(self, principal: Principal | None, token: str) -> tuple[dict[str, Any], bool]:
        """The hold's state; a caller with only the token learns the state and nothing else."""
        row = await self._visible_hold(principal, token)
        now = time.time()
        if row["status"] == "pending" and row["expires_at"] <= now:
            await self._expire(row)
        status = holds_mod.to_status(row, now, detail=principal is not None)
        return status, not status["resolved"]

    async def _expire(self, row: Mapping[str, Any]) -> None:
        """A hold nobody resolved in time counts as denied (progressive mode then blocks)."""
        fact_row = {
            "tenant_id": row["tenant_id"],
            "session_id": row["session_id"],
            "agent_id": row["agent_id"],
            "tool_name": row["tool_name"],
            "kind": "hold_expired",
            "fact": "hold_denied",
            "decision": Decision.BLOCK.value,
            "reason": "step-up auth timeout",
            "hold_token": row["hold_token"],
        }

        key = (row["tenant_id"], row["session_id"])

        def write(txn: Txn) -> bool:
            expired = store.expire_hold(txn.conn, row["hold_token"], txn.now)
            if expired:
                txn.session(key).hold_denied()
                txn.log_decision(fact_row | {"created_at": txn.now})
            return expired

        await self.writer.submit(write, [key])

    async def resolve(self, principal: Principal, token: str, body: ResolveHoldRequest) -> dict[str, Any]:
        row = await self._visible_hold(principal, token)
        if not principal.admin:
            raise ApiError(403, "forbidden", "resolving a hold needs an admin key")
        approved = body.resolution == "ALLOW"
        approver = principal.name if principal.named else (body.approver or principal.name)
        now = time.time()
        fact = "ran" if approved else "hold_denied"
        decision_row = {
            "tenant_id": row["tenant_id"],
            "session_id": row["session_id"],
            "agent_id": row["agent_id"],
            "tool_name": row["tool_name"],
            "kind": "hold_approved" if approved else "hold_denied",
            "fact": fact,
            "decision": body.resolution,
            "reason": body.reason or None,
            "hold_token": token,
            "decision_id": row.get("decision_id"),  # the resolution belongs to the STEP_UP's call
        }

        key = (row["tenant_id"], row["session_id"])

        def write(txn: Txn) -> bool:
            status = "approved" if approved else "denied"
            won = store.resolve_hold(txn.conn, token, status, approver, body.reason or None, txn.now)
            if won:
                record = txn.session(key)
                if approved:
                    record.ran(row["tool_name"], txn.now)
                else:
                    record.hold_denied()
                txn.log_decision(decision_row | {"created_at": txn.now})
            return won

        if not await self.writer.submit(write, [key]):
            current = holds_mod.state(row, now)
            if current == "pending":  # it changed under us: read again for the message
                fresh = await anyio.to_thread.run_sync(store.get_hold, self.engine, token)
                current = holds_mod.state(fresh or row, now)
            raise ApiError(409, "already_resolved", f"the hold is already {current}")
        log.info("hold %s by %s", "approved" if approved else "denied", principal.name)
        fresh = await anyio.to_thread.run_sync(store.get_hold, self.engine, token)
        return holds_mod.to_hold(fresh or row, now)

    async def list_holds(
        self,
        principal: Principal,
        status: str | None,
        tenant: str | None,
        session: str | None,
        limit: int,
        offset: int | None,
    ) -> dict[str, Any]:
        if offset is None:
            return {"items": [], "next_cursor": None}
        now = time.time()
        rows = await anyio.to_thread.run_sync(
            partial(
                store.list_holds, self.engine, principal.tenants, status, tenant, session, limit, offset, now
            )
        )
        next_cursor = cursors.encode(offset + limit) if len(rows) == limit else None
        return {"items": [holds_mod.to_hold(r, now) for r in rows], "next_cursor": next_cursor}

    # -- events -----------------------------------------------------------------------------------

    async def ingest(self, principal: Principal, batch: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        prepared = []
        for event in batch:
            tenant = event["tenant_id"]
            if not principal.may_act_for(tenant):
                raise ApiError(403, "forbidden", "this key may not write events for that tenant")
            try:
                event_id = canonical_event_id(event["event_id"], tenant)
            except EventIdError as exc:
                raise ApiError(403, "forbidden", str(exc)) from None
            # hashing and redacting overlap the writer's I/O
            prepared.append(store.prepare_event(event, event_id, redact=self.config.redact_events))
        keys = {(event.tenant_id, event.session_id) for event in prepared}
        result: dict[str, Any] = await self.writer.submit(
            lambda txn: store.ingest_events(txn.conn, prepared, txn, txn.now), keys
        )
        if result["chain_breaks"]:
            log.warning(
                "events: %d of a batch did not verify against their session's chain", result["chain_breaks"]
            )
        if result["redacted"]:  # counted for the sender too (IngestResult.redacted)
            log.info("events: %d of a batch had secrets redacted before storing", result["redacted"])
        if result["conflicts"]:
            log.warning(
                "events: %d of a batch reuse a stored event_id with different content (not stored)",
                result["conflicts"],
            )
        return result

    async def list_events(
        self,
        principal: Principal,
        session: str | None,
        agent: str | None,
        event_type: str | None,
        after_id: int | None,
        limit: int,
        *,
        decision_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> dict[str, Any]:
        if after_id is None:
            return {"items": [], "next_cursor": None}
        rows = await anyio.to_thread.run_sync(
            partial(
                store.list_events,
                self.engine,
                principal.tenants,
                session,
                agent,
                event_type,
                after_id,
                limit,
                decision_id,
                since,
                until,
            )
        )
        items = [_stored_event(r) for r in rows]
        next_cursor = cursors.encode(rows[-1]["id"]) if rows else None  # also for --follow: resume here
        return {"items": items, "next_cursor": next_cursor}

    # -- explanations, receipts, tool inventory ---------------------------------------------------

    async def explain(self, principal: Principal, body: ExplainRequest) -> dict[str, Any]:
        """Explain the stored decision the violation id names, else the decision the request states."""
        stored = None
        if body.violation_id:
            stored = await anyio.to_thread.run_sync(
                store.decision_by_violation, self.engine, principal.tenants, body.violation_id
            )
        facts = _stored_facts(stored, body) if stored is not None else _request_facts(body)
        if stored is None and body.tenant_id and not principal.may_act_for(body.tenant_id):
            raise ApiError(403, "forbidden", "this key may not act for that tenant")
        active = self.active
        explanation = explain_decision(active.policy, facts)
        explanation["policy_version"] = active.version
        explanation["source"] = "stored" if stored is not None else "request"
        explanation["timestamp"] = holds_mod.iso(stored["created_at"] if stored is not None else time.time())
        explanation["request_url"] = None
        return explanation

    def policy_bundle(self) -> PolicyBundle:
        """The bundle of the active policy, built once per policy (signed when configured)."""
        bundle, active = self._bundle, self.active
        if bundle is None or bundle.policy is not active.policy:
            data = bundles.build_bundle(
                active.policy.document,
                active.version,
                receipts.iso_utc(time.time()),
                self.config.bundle_signer,
            )
            body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
            bundle = self._bundle = PolicyBundle(active.policy, body, bundles.etag(data))
        return bundle

    def reload_policy(self) -> ActivePolicy:
        """Read the policy file again and put it in force at once (SIGHUP). Raises PolicyError
        for a policy that does not load: the one in force stays."""
        path = self.config.policy_path
        if path is None:
            raise PolicyError("no policy file to reload: thoth serve was started without --policy", "-")
        policy, version = read_policy(path)
        self.active = ActivePolicy(policy, version)
        return self.active

    def receipt_public_key(self) -> dict[str, str] | None:
        """The key that verifies this server's receipts; None when it signs none (404)."""
        signer = self.config.receipt_signer
        return signer.public_key() if signer is not None else None

    async def publish_tool_inventory(
        self, principal: Principal, tenant: str, body: ToolInventory
    ) -> dict[str, int]:
        if not principal.may_act_for(tenant):
            raise ApiError(403, "forbidden", "this key may not act for that tenant")
        tools = {tool.name: tool for tool in body.tools}  # the last declaration of a name wins
        source = body.source or None

        def write(txn: Txn) -> int:
            rows = [
                {
                    "tenant_id": tenant,
                    "agent_id": body.agent_id,
                    "tool_name": tool.name,
                    "description": tool.description,
                    "input_schema": json.dumps(tool.input_schema, ensure_ascii=False),
                    "source": source,
                    "updated_at": txn.now,
                }
                for tool in tools.values()
            ]
            store.upsert_tools(txn.conn, rows)
            return len(rows)

        return {"stored": await self.writer.submit(write, ())}

    async def list_tool_inventory(
        self, principal: Principal, tenant: str | None, agent: str | None, limit: int, offset: int | None
    ) -> dict[str, Any]:
        if offset is None:
            return {"items": [], "next_cursor": None}
        rows = await anyio.to_thread.run_sync(
            partial(store.list_tools, self.engine, principal.tenants, tenant, agent, limit, offset)
        )
        items = [
            {
                "tenant_id": row["tenant_id"],
                "agent_id": row["agent_id"],
                "name": row["tool_name"],
                "description": row["description"],
                "input_schema": json.loads(row["input_schema"]) if row["input_schema"] else None,
                "source": row["source"],
                "updated_at": holds_mod.iso(row["updated_at"]),
            }
            for row in rows
        ]
        next_cursor = cursors.encode(offset + limit) if len(rows) == limit else None
        return {"items": items, "next_cursor": next_cursor}


def _stored_facts(row: Mapping[str, Any], body: ExplainRequest) -> DecisionFacts:
    return DecisionFacts(
        tenant_id=row["tenant_id"],
        agent_id=row["agent_id"],
        user_id=body.user_id,
        session_id=row["session_id"],
        tool_name=row["tool_name"],
        decision=row["decision"],
        reason_code=row["reason_code"],
        rule_ids=tuple(store.iter_rule_ids(row["rule_ids"])),
        reason=row["reason"],
        violation_id=row["violation_id"],
        approved_scope=tuple(body.approved_scope),
        mode=row["mode"],
    )


def _request_facts(body: ExplainRequest) -> DecisionFacts:
    return DecisionFacts(
        tenant_id=body.tenant_id or None,
        agent_id=body.agent_id or None,
        user_id=body.user_id,
        session_id=body.session_id or None,
        tool_name=body.tool_name,
        decision=body.decision,
        reason_code=body.decision_reason_code,
        rule_ids=tuple(body.matched_rule_ids or ()),
        reason=body.reason,
        violation_id=body.violation_id,
        approved_scope=tuple(body.approved_scope),
        mode=body.enforcement_mode,
    )


def _stored_event(row: Mapping[str, Any]) -> dict[str, Any]:
    event = store.stored_event(row)
    event["received_at"] = holds_mod.iso(row["received_at"])
    event["chain_status"] = row["chain_status"]
    return event


def _decision_row(
    request: EnforceRequest,
    response: Mapping[str, Any],
    shadow: Decision | None,
    fact: str | None,
    latency_ms: float,
    now: float,
) -> dict[str, Any]:
    return {
        "tenant_id": request.tenant_id,
        "session_id": request.session_id,
        "agent_id": request.agent_id,
        "tool_name": request.tool_name,
        "kind": "decision",
        "fact": fact,
        "mode": request.enforcement_mode,
        "decision": response["decision"],
        "shadow_decision": shadow.value if shadow is not None else None,
        "reason": response["reason"],
        "reason_code": response["decision_reason_code"],
        "rule_ids": json.dumps(response["matched_rule_ids"]),
        "latency_ms": latency_ms,
        "hold_token": response.get("hold_token"),
        "created_at": now,
        "violation_id": response.get("violation_id"),
        "extensions": json.dumps(request.model_extra, ensure_ascii=False) if request.model_extra else None,
        "decision_id": response["decision_id"],
    }


def _slack_sender(config: ServerConfig) -> SlackSender | None:
    slack = config.slack
    if slack is None:
        return None
    return SlackSender(
        webhook_url=slack.webhook_url,
        bot_token=slack.bot_token,
        channel=slack.channel,
        api_base=slack.api_base,
        response_hosts=slack.response_hosts,
    )


def decision_id_of(request: EnforceRequest) -> str:
    """The request's ``action_attestation_id`` (one per call; thoth's SDK sends the call id its
    events carry, so decision and events join), else one made here, as for a client that sends
    none or one that is not a plain id."""
    sent = request.action_attestation_id
    if sent and _DECISION_ID.fullmatch(sent):
        return sent
    return "dec_" + secrets.token_hex(12)


def _receipt_claims(request: EnforceRequest, response: Mapping[str, Any]) -> dict[str, Any]:
    """What a receipt vouches for: the call as asked (its arguments by digest) and the answer."""
    return receipts.build_claims(
        tenant_id=request.tenant_id,
        agent_id=request.agent_id,
        session_id=request.session_id,
        tool_name=request.tool_name,
        tool_args=request.tool_args,
        decision=response["decision"],
        decision_reason_code=response["decision_reason_code"],
        matched_rule_ids=response["matched_rule_ids"],
        policy_version=response["policy_version"],
        issued_at=time.time(),
        decision_id=response.get("decision_id"),
        violation_id=response.get("violation_id"),
        hold_token=response.get("hold_token"),
        modified_tool_args=response.get("modified_tool_args"),
    )


def _predates_modify(request: EnforceRequest) -> bool:
    """aten-thoth <= 0.1.6 sends neither ``tool_args`` nor ``enforcement_trace_id``; every later
    client (ours included) sends the trace id on every call. See wire-facts in COMPATIBILITY.md."""
    sent = request.model_fields_set
    return "tool_args" not in sent and "enforcement_trace_id" not in sent


def _hold_row(
    request: EnforceRequest, rule_id: str, reason: str, timeout: float, now: float
) -> dict[str, Any]:
    token = holds_mod.new_token()
    return {
        "hold_token": token,
        "hold_ref": holds_mod.ref_of(token),
        "tenant_id": request.tenant_id,
        "agent_id": request.agent_id,
        "session_id": request.session_id,
        "user_id": request.user_id,
        "tool_name": request.tool_name,
        "args_sha256": receipts.args_sha256(request.tool_args),
        "redacted_args": holds_mod.redacted_args(request.tool_args),
        "reason": reason,
        "rule_id": rule_id,
        "status": "pending",
        "created_at": now,
        "expires_at": now + float(timeout),
    }

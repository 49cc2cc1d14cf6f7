"""``POST /integrations/slack/actions``: a click on Approve or Deny in Slack (HTTP and store I/O).

In order, each step refusing before the next runs: the body is read within a bound; Slack's
signature over it is checked (five-minute window, constant time: ``signing``); the signature is
recorded once in the store, so a replayed request is refused on every replica; the click is
parsed (``actions``); the clicker must be on the allow list when there is one; the hold is
found by its ref and resolved through ``Enforcer.resolve`` as ``slack:<user>``, exactly as the
API or the console would record it. The message is then replaced through its ``response_url``
with the outcome (in the background: Slack wants an answer within three seconds).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import anyio.to_thread
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from thoth.server import holds, store
from thoth.server.auth import Principal
from thoth.server.errors import ApiError
from thoth.server.schemas import RESOLVE_REQUEST
from thoth.server.slack.actions import MAX_BODY_BYTES, Action, approver_of, parse_action
from thoth.server.slack.config import SlackConfig
from thoth.server.slack.delivery import SlackSender
from thoth.server.slack.messages import outcome_message
from thoth.server.slack.signing import MAX_SKEW_SECONDS, verify
from thoth.server.ui import views

if TYPE_CHECKING:
    from thoth.server.service import Enforcer

log = logging.getLogger("thoth.server.slack")

PATH: Final = "/integrations/slack/actions"
#: a recorded signature is kept while its timestamp could pass the check (either side of now)
KEEP_SECONDS: Final = 2 * MAX_SKEW_SECONDS + 60


class SlackActions:
    def __init__(self, enforcer: Enforcer, config: SlackConfig, sender: SlackSender) -> None:
        self.enforcer = enforcer
        self.config = config
        self.sender = sender

    async def handle(self, request: Request) -> Response:
        body = await _body(request)
        if body is None:
            return _answer(413, f"a Slack action is at most {MAX_BODY_BYTES} bytes")
        headers = request.headers
        signature = headers.get("x-slack-signature")
        problem = verify(
            self.config.signing_secret, headers.get("x-slack-request-timestamp"), signature, body, time.time()
        )
        if problem is not None or signature is None:
            log.warning("slack action refused: %s", problem)
            return _answer(401, problem or "missing signature")
        if not await self._first_time(signature):
            log.warning("slack action refused: a replayed request")
            return _answer(409, "this request was already taken (a replay)")
        action = parse_action(body)
        if not isinstance(action, Action):
            return _answer(200 if action.ignorable else 400, action.reason)
        if not self._allowed(action):
            log.warning("slack action refused: %s is not on the allow list", approver_of(action))
            return _answer(403, "you are not on this server's list of Slack approvers")
        return await self._resolve(action)

    async def _first_time(self, signature: str) -> bool:
        digest = hashlib.sha256(signature.encode("utf-8", "surrogatepass")).hexdigest()
        return bool(
            await self.enforcer.writer.submit(
                lambda txn: store.first_slack_request(txn.conn, digest, txn.now, KEEP_SECONDS)
            )
        )

    def _allowed(self, action: Action) -> bool:
        allowed = self.config.allowed_users
        return allowed is None or action.user_id in allowed or (action.user_name or "") in allowed

    async def _resolve(self, action: Action) -> Response:
        row = await anyio.to_thread.run_sync(store.get_hold_by_ref, self.enforcer.engine, action.hold_ref)
        if row is None:
            return _answer(404, "there is no such hold on this server")
        approver = approver_of(action)
        principal = Principal(None, True, approver, named=True)
        body = RESOLVE_REQUEST.validate_python({"resolution": action.resolution, "reason": "from Slack"})
        token = row["hold_token"]
        try:
            await self.enforcer.resolve(principal, token, body)
        except ApiError as exc:
            if exc.status != 409:
                return _answer(exc.status, exc.message)
            current = await anyio.to_thread.run_sync(store.get_hold, self.enforcer.engine, token)
            text = views.already_resolved(current or row, time.time())
            return self._updating(_answer(200, text, resolved=False), action, current or row, text)
        fresh = await anyio.to_thread.run_sync(store.get_hold, self.enforcer.engine, token)
        text = views.outcome_text(fresh or row, time.time())
        log.info(
            "hold %s %s from Slack by %s", action.hold_ref, holds.state(fresh or row, time.time()), approver
        )
        return self._updating(_answer(200, text, resolved=True), action, fresh or row, text)

    def _updating(self, response: Response, action: Action, row: Mapping[str, Any], text: str) -> Response:
        """The answer, with the message's replacement posted once it is sent (the clicker sees
        the outcome, and no button to click again)."""
        if action.response_url:
            message = outcome_message(row, text)
            response.background = BackgroundTask(
                self.sender.update, action.response_url, message, hold_ref=action.hold_ref
            )
        return response


async def _body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _answer(status: int, text: str, resolved: bool | None = None) -> Response:
    """Slack shows nothing of an action's answer; a person testing with curl reads ``text``."""
    content: dict[str, object] = {"ok": 200 <= status < 300, "text": text}
    if resolved is not None:
        content["resolved"] = resolved
    return JSONResponse(content, status_code=status)

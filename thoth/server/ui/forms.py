"""What the console's forms and redirects share: reading an urlencoded form within a bound,
and where a sign-in may send the browser afterwards (never to another site)."""

from __future__ import annotations

import re
import urllib.parse
from typing import Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

LOGIN_PATH: Final = "/ui/login"
HOME_PATH: Final = "/ui/approvals"
MAX_FORM_BYTES: Final = 16 * 1024
#: where a sign-in may return to: a console page, never another site (no //, no scheme)
_NEXT: Final = re.compile(r"/ui/[A-Za-z0-9_/-]{0,200}")
FORGED: Final = (
    "This form has expired or did not come from this console, so nothing was changed. "
    "Reload the page and try again."
)


def next_page(wanted: str | None) -> str:
    """Where a sign-in returns to: the console page asked for, else Approvals (an open redirect
    to another site is never possible: only /ui/ paths of plain characters pass)."""
    return wanted if wanted and _NEXT.fullmatch(wanted) and wanted != LOGIN_PATH else HOME_PATH


def sign_in_first(path: str) -> Response:
    """To the sign-in form, which returns here afterwards."""
    after = next_page(path)
    target = LOGIN_PATH if after == HOME_PATH else f"{LOGIN_PATH}?{urllib.parse.urlencode({'next': after})}"
    return RedirectResponse(target, 303)


async def form_of(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The fields of an urlencoded form (the first value of each); empty for anything else, so
    a body we do not take carries no CSRF token and is refused like a forged one."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    if kind != "application/x-www-form-urlencoded" or (declared.isdigit() and int(declared) > max_bytes):
        return {}
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return {}
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=16, errors="replace"
        )
    except ValueError:
        return {}
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields

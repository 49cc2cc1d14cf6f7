from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.hold import Hold
from ...models.resolve_hold_request import ResolveHoldRequest
from ...types import Response


def _get_kwargs(
    hold_token: str,
    *,
    body: ResolveHoldRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/enforce/hold/{hold_token}/resolve".format(
            hold_token=quote(str(hold_token), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | Hold | None:
    if response.status_code == 200:
        response_200 = Hold.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Error.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | Hold]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    hold_token: str,
    *,
    client: AuthenticatedClient | Client,
    body: ResolveHoldRequest,
) -> Response[Error | Hold]:
    """Approve or deny a step-up hold (admin key)

     A hold is resolved once; a second resolution gets 409.

    Args:
        hold_token (str):  Example: hold_3q2Yk9vX8wLmN4pR7tUz1A.
        body (ResolveHoldRequest):  Example: {'resolution': 'BLOCK', 'approver': 'carol@acme.com',
            'reason': 'Not during the freeze'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Hold]
    """

    kwargs = _get_kwargs(
        hold_token=hold_token,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    hold_token: str,
    *,
    client: AuthenticatedClient | Client,
    body: ResolveHoldRequest,
) -> Error | Hold | None:
    """Approve or deny a step-up hold (admin key)

     A hold is resolved once; a second resolution gets 409.

    Args:
        hold_token (str):  Example: hold_3q2Yk9vX8wLmN4pR7tUz1A.
        body (ResolveHoldRequest):  Example: {'resolution': 'BLOCK', 'approver': 'carol@acme.com',
            'reason': 'Not during the freeze'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Hold
    """

    return sync_detailed(
        hold_token=hold_token,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    hold_token: str,
    *,
    client: AuthenticatedClient | Client,
    body: ResolveHoldRequest,
) -> Response[Error | Hold]:
    """Approve or deny a step-up hold (admin key)

     A hold is resolved once; a second resolution gets 409.

    Args:
        hold_token (str):  Example: hold_3q2Yk9vX8wLmN4pR7tUz1A.
        body (ResolveHoldRequest):  Example: {'resolution': 'BLOCK', 'approver': 'carol@acme.com',
            'reason': 'Not during the freeze'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Hold]
    """

    kwargs = _get_kwargs(
        hold_token=hold_token,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    hold_token: str,
    *,
    client: AuthenticatedClient | Client,
    body: ResolveHoldRequest,
) -> Error | Hold | None:
    """Approve or deny a step-up hold (admin key)

     A hold is resolved once; a second resolution gets 409.

    Args:
        hold_token (str):  Example: hold_3q2Yk9vX8wLmN4pR7tUz1A.
        body (ResolveHoldRequest):  Example: {'resolution': 'BLOCK', 'approver': 'carol@acme.com',
            'reason': 'Not during the freeze'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Hold
    """

    return (
        await asyncio_detailed(
            hold_token=hold_token,
            client=client,
            body=body,
        )
    ).parsed

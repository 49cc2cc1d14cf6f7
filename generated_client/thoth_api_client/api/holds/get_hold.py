from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.hold_poll_response import HoldPollResponse
from ...types import Response


def _get_kwargs(
    hold_token: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/enforce/hold/{hold_token}".format(
            hold_token=quote(str(hold_token), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | HoldPollResponse | None:
    if response.status_code == 200:
        response_200 = HoldPollResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

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
) -> Response[Error | HoldPollResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    hold_token: str,
    *,
    client: AuthenticatedClient,
) -> Response[Error | HoldPollResponse]:
    """Read the state of a step-up hold

     `resolved: false` means still pending; poll again after `Retry-After`
    seconds when the header is present. Older servers answered with a
    decision-shaped object (`{"decision": ...}`); clients accept both.

    The hold token is itself a credential (unguessable, given only to the
    caller that was held): aten-thoth 0.1.0 and 0.1.1 poll without a key,
    so a request with no credentials at all is answered too, with the state
    only (`reason` names no approver and carries no free text). A key that
    is sent must be valid.

    Args:
        hold_token (str):  Example: hold_3q2Yk9vX8wLmN4pR7tUz1A.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HoldPollResponse]
    """

    kwargs = _get_kwargs(
        hold_token=hold_token,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    hold_token: str,
    *,
    client: AuthenticatedClient,
) -> Error | HoldPollResponse | None:
    """Read the state of a step-up hold

     `resolved: false` means still pending; poll again after `Retry-After`
    seconds when the header is present. Older servers answered with a
    decision-shaped object (`{"decision": ...}`); clients accept both.

    The hold token is itself a credential (unguessable, given only to the
    caller that was held): aten-thoth 0.1.0 and 0.1.1 poll without a key,
    so a request with no credentials at all is answered too, with the state
    only (`reason` names no approver and carries no free text). A key that
    is sent must be valid.

    Args:
        hold_token (str):  Example: hold_3q2Yk9vX8wLmN4pR7tUz1A.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HoldPollResponse
    """

    return sync_detailed(
        hold_token=hold_token,
        client=client,
    ).parsed


async def asyncio_detailed(
    hold_token: str,
    *,
    client: AuthenticatedClient,
) -> Response[Error | HoldPollResponse]:
    """Read the state of a step-up hold

     `resolved: false` means still pending; poll again after `Retry-After`
    seconds when the header is present. Older servers answered with a
    decision-shaped object (`{"decision": ...}`); clients accept both.

    The hold token is itself a credential (unguessable, given only to the
    caller that was held): aten-thoth 0.1.0 and 0.1.1 poll without a key,
    so a request with no credentials at all is answered too, with the state
    only (`reason` names no approver and carries no free text). A key that
    is sent must be valid.

    Args:
        hold_token (str):  Example: hold_3q2Yk9vX8wLmN4pR7tUz1A.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | HoldPollResponse]
    """

    kwargs = _get_kwargs(
        hold_token=hold_token,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    hold_token: str,
    *,
    client: AuthenticatedClient,
) -> Error | HoldPollResponse | None:
    """Read the state of a step-up hold

     `resolved: false` means still pending; poll again after `Retry-After`
    seconds when the header is present. Older servers answered with a
    decision-shaped object (`{"decision": ...}`); clients accept both.

    The hold token is itself a credential (unguessable, given only to the
    caller that was held): aten-thoth 0.1.0 and 0.1.1 poll without a key,
    so a request with no credentials at all is answered too, with the state
    only (`reason` names no approver and carries no free text). A key that
    is sent must be valid.

    Args:
        hold_token (str):  Example: hold_3q2Yk9vX8wLmN4pR7tUz1A.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | HoldPollResponse
    """

    return (
        await asyncio_detailed(
            hold_token=hold_token,
            client=client,
        )
    ).parsed

from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.session import Session
from ...types import UNSET, Response, Unset


def _get_kwargs(
    session_id: str,
    *,
    window: str | Unset = "7d",
    tenant_id: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["window"] = window

    params["tenant_id"] = tenant_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/sessions/{session_id}".format(
            session_id=quote(str(session_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | Session | None:
    if response.status_code == 200:
        response_200 = Session.from_dict(response.json())

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
) -> Response[Error | Session]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    window: str | Unset = "7d",
    tenant_id: str | Unset = UNSET,
) -> Response[Error | Session]:
    """One session, with its behaviour score and the reasons

     The whole session (its first 10,000 decisions at most), scored against the other sessions of its
    agent and tenant in the window. 404 when none of the key's tenants has a session of that id; 409
    `ambiguous_session` when more than one has (give `tenant_id`).

    Args:
        session_id (str):
        window (str | Unset):  Default: '7d'.
        tenant_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Session]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        window=window,
        tenant_id=tenant_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    window: str | Unset = "7d",
    tenant_id: str | Unset = UNSET,
) -> Error | Session | None:
    """One session, with its behaviour score and the reasons

     The whole session (its first 10,000 decisions at most), scored against the other sessions of its
    agent and tenant in the window. 404 when none of the key's tenants has a session of that id; 409
    `ambiguous_session` when more than one has (give `tenant_id`).

    Args:
        session_id (str):
        window (str | Unset):  Default: '7d'.
        tenant_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Session
    """

    return sync_detailed(
        session_id=session_id,
        client=client,
        window=window,
        tenant_id=tenant_id,
    ).parsed


async def asyncio_detailed(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    window: str | Unset = "7d",
    tenant_id: str | Unset = UNSET,
) -> Response[Error | Session]:
    """One session, with its behaviour score and the reasons

     The whole session (its first 10,000 decisions at most), scored against the other sessions of its
    agent and tenant in the window. 404 when none of the key's tenants has a session of that id; 409
    `ambiguous_session` when more than one has (give `tenant_id`).

    Args:
        session_id (str):
        window (str | Unset):  Default: '7d'.
        tenant_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Session]
    """

    kwargs = _get_kwargs(
        session_id=session_id,
        window=window,
        tenant_id=tenant_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    session_id: str,
    *,
    client: AuthenticatedClient | Client,
    window: str | Unset = "7d",
    tenant_id: str | Unset = UNSET,
) -> Error | Session | None:
    """One session, with its behaviour score and the reasons

     The whole session (its first 10,000 decisions at most), scored against the other sessions of its
    agent and tenant in the window. 404 when none of the key's tenants has a session of that id; 409
    `ambiguous_session` when more than one has (give `tenant_id`).

    Args:
        session_id (str):
        window (str | Unset):  Default: '7d'.
        tenant_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Session
    """

    return (
        await asyncio_detailed(
            session_id=session_id,
            client=client,
            window=window,
            tenant_id=tenant_id,
        )
    ).parsed

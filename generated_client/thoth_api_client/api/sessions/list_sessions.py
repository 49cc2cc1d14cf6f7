from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.session_page import SessionPage
from ...models.session_sort import SessionSort
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    sort: SessionSort | Unset = UNSET,
    window: str | Unset = "7d",
    tenant_id: str | Unset = UNSET,
    agent_id: str | Unset = UNSET,
    limit: int | Unset = 100,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_sort: str | Unset = UNSET
    if not isinstance(sort, Unset):
        json_sort = sort.value

    params["sort"] = json_sort

    params["window"] = window

    params["tenant_id"] = tenant_id

    params["agent_id"] = agent_id

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/sessions",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | SessionPage | None:
    if response.status_code == 200:
        response_200 = SessionPage.from_dict(response.json())

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
) -> Response[Error | SessionPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    sort: SessionSort | Unset = UNSET,
    window: str | Unset = "7d",
    tenant_id: str | Unset = UNSET,
    agent_id: str | Unset = UNSET,
    limit: int | Unset = 100,
) -> Response[Error | SessionPage]:
    """Sessions of the window, with their behaviour scores

     The sessions with a decision in the window (the newest 100,000 decisions of the window at most:
    `truncated` says when it held more), each scored against the other sessions of the same agent and
    tenant in the window (see `SessionAnomaly`). A key sees its own tenants; `tenant_id` narrows that to
    one of them. Scores are computed when asked for, not stored.

    Args:
        sort (SessionSort | Unset):  Example: anomaly.
        window (str | Unset):  Default: '7d'.
        tenant_id (str | Unset):
        agent_id (str | Unset):
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | SessionPage]
    """

    kwargs = _get_kwargs(
        sort=sort,
        window=window,
        tenant_id=tenant_id,
        agent_id=agent_id,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    sort: SessionSort | Unset = UNSET,
    window: str | Unset = "7d",
    tenant_id: str | Unset = UNSET,
    agent_id: str | Unset = UNSET,
    limit: int | Unset = 100,
) -> Error | SessionPage | None:
    """Sessions of the window, with their behaviour scores

     The sessions with a decision in the window (the newest 100,000 decisions of the window at most:
    `truncated` says when it held more), each scored against the other sessions of the same agent and
    tenant in the window (see `SessionAnomaly`). A key sees its own tenants; `tenant_id` narrows that to
    one of them. Scores are computed when asked for, not stored.

    Args:
        sort (SessionSort | Unset):  Example: anomaly.
        window (str | Unset):  Default: '7d'.
        tenant_id (str | Unset):
        agent_id (str | Unset):
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | SessionPage
    """

    return sync_detailed(
        client=client,
        sort=sort,
        window=window,
        tenant_id=tenant_id,
        agent_id=agent_id,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    sort: SessionSort | Unset = UNSET,
    window: str | Unset = "7d",
    tenant_id: str | Unset = UNSET,
    agent_id: str | Unset = UNSET,
    limit: int | Unset = 100,
) -> Response[Error | SessionPage]:
    """Sessions of the window, with their behaviour scores

     The sessions with a decision in the window (the newest 100,000 decisions of the window at most:
    `truncated` says when it held more), each scored against the other sessions of the same agent and
    tenant in the window (see `SessionAnomaly`). A key sees its own tenants; `tenant_id` narrows that to
    one of them. Scores are computed when asked for, not stored.

    Args:
        sort (SessionSort | Unset):  Example: anomaly.
        window (str | Unset):  Default: '7d'.
        tenant_id (str | Unset):
        agent_id (str | Unset):
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | SessionPage]
    """

    kwargs = _get_kwargs(
        sort=sort,
        window=window,
        tenant_id=tenant_id,
        agent_id=agent_id,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    sort: SessionSort | Unset = UNSET,
    window: str | Unset = "7d",
    tenant_id: str | Unset = UNSET,
    agent_id: str | Unset = UNSET,
    limit: int | Unset = 100,
) -> Error | SessionPage | None:
    """Sessions of the window, with their behaviour scores

     The sessions with a decision in the window (the newest 100,000 decisions of the window at most:
    `truncated` says when it held more), each scored against the other sessions of the same agent and
    tenant in the window (see `SessionAnomaly`). A key sees its own tenants; `tenant_id` narrows that to
    one of them. Scores are computed when asked for, not stored.

    Args:
        sort (SessionSort | Unset):  Example: anomaly.
        window (str | Unset):  Default: '7d'.
        tenant_id (str | Unset):
        agent_id (str | Unset):
        limit (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | SessionPage
    """

    return (
        await asyncio_detailed(
            client=client,
            sort=sort,
            window=window,
            tenant_id=tenant_id,
            agent_id=agent_id,
            limit=limit,
        )
    ).parsed

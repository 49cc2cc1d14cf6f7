from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.enforce_request import EnforceRequest
from ...models.enforce_response import EnforceResponse
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    *,
    body: EnforceRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/enforce",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> EnforceResponse | Error | None:
    if response.status_code == 200:
        response_200 = EnforceResponse.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

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
) -> Response[EnforceResponse | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EnforceRequest,
) -> Response[EnforceResponse | Error]:
    """Decide whether a tool call may run

     A request that carries neither `tool_args` nor `enforcement_trace_id` is taken to come
    from a client that knows only ALLOW, BLOCK and STEP_UP (aten-thoth 0.1.0 to 0.1.6, which
    run the tool on any decision they cannot read). Where the policy says MODIFY or DEFER,
    such a request is answered BLOCK with `decision_reason_code: CLIENT_CANNOT_APPLY`.

    Args:
        body (EnforceRequest):  Example: {'agent_id': 'billing-agent', 'tenant_id': 'acme-corp',
            'tool_name': 'read_file', 'session_id': '7f0c2a52-8f0e-4c4e-9a53-3f1a1f0b6f0d'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EnforceResponse | Error]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: EnforceRequest,
) -> EnforceResponse | Error | None:
    """Decide whether a tool call may run

     A request that carries neither `tool_args` nor `enforcement_trace_id` is taken to come
    from a client that knows only ALLOW, BLOCK and STEP_UP (aten-thoth 0.1.0 to 0.1.6, which
    run the tool on any decision they cannot read). Where the policy says MODIFY or DEFER,
    such a request is answered BLOCK with `decision_reason_code: CLIENT_CANNOT_APPLY`.

    Args:
        body (EnforceRequest):  Example: {'agent_id': 'billing-agent', 'tenant_id': 'acme-corp',
            'tool_name': 'read_file', 'session_id': '7f0c2a52-8f0e-4c4e-9a53-3f1a1f0b6f0d'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EnforceResponse | Error
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EnforceRequest,
) -> Response[EnforceResponse | Error]:
    """Decide whether a tool call may run

     A request that carries neither `tool_args` nor `enforcement_trace_id` is taken to come
    from a client that knows only ALLOW, BLOCK and STEP_UP (aten-thoth 0.1.0 to 0.1.6, which
    run the tool on any decision they cannot read). Where the policy says MODIFY or DEFER,
    such a request is answered BLOCK with `decision_reason_code: CLIENT_CANNOT_APPLY`.

    Args:
        body (EnforceRequest):  Example: {'agent_id': 'billing-agent', 'tenant_id': 'acme-corp',
            'tool_name': 'read_file', 'session_id': '7f0c2a52-8f0e-4c4e-9a53-3f1a1f0b6f0d'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EnforceResponse | Error]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EnforceRequest,
) -> EnforceResponse | Error | None:
    """Decide whether a tool call may run

     A request that carries neither `tool_args` nor `enforcement_trace_id` is taken to come
    from a client that knows only ALLOW, BLOCK and STEP_UP (aten-thoth 0.1.0 to 0.1.6, which
    run the tool on any decision they cannot read). Where the policy says MODIFY or DEFER,
    such a request is answered BLOCK with `decision_reason_code: CLIENT_CANNOT_APPLY`.

    Args:
        body (EnforceRequest):  Example: {'agent_id': 'billing-agent', 'tenant_id': 'acme-corp',
            'tool_name': 'read_file', 'session_id': '7f0c2a52-8f0e-4c4e-9a53-3f1a1f0b6f0d'}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EnforceResponse | Error
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.policy_bundle import PolicyBundle
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    if_none_match: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_none_match, Unset):
        headers["If-None-Match"] = if_none_match

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/policy/bundle",
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | PolicyBundle | None:
    if response.status_code == 200:
        response_200 = PolicyBundle.from_dict(response.json())

        return response_200

    if response.status_code == 304:
        response_304 = cast(Any, None)
        return response_304

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Error | PolicyBundle]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    if_none_match: str | Unset = UNSET,
) -> Response[Any | Error | PolicyBundle]:
    """The active policy as data, for decisions in process

     What an SDK in `decision_mode="local"` decides with: the policy document
    this server enforces, its version, the SHA-256 of its canonical JSON
    (sorted keys, no spaces, UTF-8) and, when the server has a bundle signing
    key (`thoth serve --bundle-signing-key`), an Ed25519 signature over the
    canonical JSON of every field but `signature`. Send the `ETag` back as
    `If-None-Match` to get 304 while the policy is unchanged.

    Args:
        if_none_match (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | PolicyBundle]
    """

    kwargs = _get_kwargs(
        if_none_match=if_none_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    if_none_match: str | Unset = UNSET,
) -> Any | Error | PolicyBundle | None:
    """The active policy as data, for decisions in process

     What an SDK in `decision_mode="local"` decides with: the policy document
    this server enforces, its version, the SHA-256 of its canonical JSON
    (sorted keys, no spaces, UTF-8) and, when the server has a bundle signing
    key (`thoth serve --bundle-signing-key`), an Ed25519 signature over the
    canonical JSON of every field but `signature`. Send the `ETag` back as
    `If-None-Match` to get 304 while the policy is unchanged.

    Args:
        if_none_match (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | PolicyBundle
    """

    return sync_detailed(
        client=client,
        if_none_match=if_none_match,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    if_none_match: str | Unset = UNSET,
) -> Response[Any | Error | PolicyBundle]:
    """The active policy as data, for decisions in process

     What an SDK in `decision_mode="local"` decides with: the policy document
    this server enforces, its version, the SHA-256 of its canonical JSON
    (sorted keys, no spaces, UTF-8) and, when the server has a bundle signing
    key (`thoth serve --bundle-signing-key`), an Ed25519 signature over the
    canonical JSON of every field but `signature`. Send the `ETag` back as
    `If-None-Match` to get 304 while the policy is unchanged.

    Args:
        if_none_match (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | PolicyBundle]
    """

    kwargs = _get_kwargs(
        if_none_match=if_none_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    if_none_match: str | Unset = UNSET,
) -> Any | Error | PolicyBundle | None:
    """The active policy as data, for decisions in process

     What an SDK in `decision_mode="local"` decides with: the policy document
    this server enforces, its version, the SHA-256 of its canonical JSON
    (sorted keys, no spaces, UTF-8) and, when the server has a bundle signing
    key (`thoth serve --bundle-signing-key`), an Ed25519 signature over the
    canonical JSON of every field but `signature`. Send the `ETag` back as
    `If-None-Match` to get 304 while the policy is unchanged.

    Args:
        if_none_match (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | PolicyBundle
    """

    return (
        await asyncio_detailed(
            client=client,
            if_none_match=if_none_match,
        )
    ).parsed

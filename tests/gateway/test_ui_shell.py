"""The web UI's page shells on the gateway's port: served with a strict
Content-Security-Policy, bounded ids, static files, and off with --no-ui."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import aiohttp
import pytest

from dagwire.server.config import ServerConfig, parse_args
from tests.conftest import ServerThread


async def test_a_run_page_is_a_shell_naming_its_run_under_a_strict_policy(gateway_url: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway_url + "/ui/runs/run-0123abcd") as response,
    ):
        assert response.status == 200
        assert response.content_type == "text/html"
        policy = response.headers["Content-Security-Policy"]
        page = await response.text()
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert 'data-id="run-0123abcd"' in page
    assert 'data-page="run"' in page


async def test_an_id_that_is_no_id_is_a_404_before_any_template(gateway_url: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(gateway_url + "/ui/runs/%3Cscript%3E") as response,
    ):
        assert response.status == 404
        assert "<script>" not in await response.text()


async def test_the_root_leads_to_the_runs_and_the_scripts_are_served(gateway_url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(gateway_url + "/ui/", allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (302, "/ui/runs")
        async with session.get(gateway_url + "/ui/static/vendor/dagre.min.js") as response:
            assert response.status == 200
            assert b"graphlib" in await response.read()


def test_no_ui_is_a_flag_and_leaves_the_ui_off() -> None:
    assert parse_args(["--no-ui"]).ui is False
    assert parse_args([]).ui is True


@pytest.fixture
def no_ui_server(server_config: ServerConfig) -> Iterator[ServerThread]:
    server = ServerThread(dataclasses.replace(server_config, ui=False))
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_without_the_ui_its_paths_are_404_and_the_api_still_answers(
    no_ui_server: ServerThread,
) -> None:
    assert no_ui_server.server is not None and no_ui_server.server.http is not None
    url = no_ui_server.server.http.url
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/ui/runs") as response:
            assert response.status == 404
        async with session.post(url + "/api/v1/workflow/run/list", json={}) as response:
            assert response.status == 200

"""A real LSP client (pytest-lsp) driving the plumb-lsp binary over stdio."""

import asyncio
import os
import pathlib
import shutil

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = pathlib.Path(__file__).resolve().parents[3]
SERVER = os.environ.get("PLUMB_LSP", str(ROOT / "target" / "release" / "plumb-lsp"))
PLUMB = os.environ.get("PLUMB", str(ROOT / "target" / "release" / "plumb"))
WORKSPACE = pathlib.Path(__file__).parent / "workspace"

for binary in (SERVER, PLUMB):
    if not os.path.exists(binary):
        raise RuntimeError(f"{binary} is missing: run `cargo build --release` first (scripts/test.sh does)")


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(WORKSPACE, ws)
    return ws


async def start(lsp_client: LanguageClient, workspace: pathlib.Path):
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
        )
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[SERVER]))
async def client(lsp_client: LanguageClient, workspace):
    await start(lsp_client, workspace)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[PLUMB, "lsp"]))
async def plumb_lsp_client(lsp_client: LanguageClient, workspace):
    await start(lsp_client, workspace)
    yield
    await lsp_client.shutdown_session()


def position(text: str, needle: str, nth: int = 0, offset: int = 0) -> types.Position:
    """The position of the nth occurrence of needle (plus offset characters)."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += offset
    line = text.count("\n", 0, at)
    col = at - (text.rfind("\n", 0, at) + 1)
    # the test files are ASCII: UTF-16 columns are byte columns
    return types.Position(line=line, character=col)


def open_file(client: LanguageClient, path: pathlib.Path, text: str | None = None) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="plumb", version=1, text=text if text is not None else path.read_text()
            )
        )
    )
    return uri


async def wait_for(predicate, timeout: float = 10.0):
    """Polls until predicate() is truthy (diagnostics arrive as notifications)."""

    async def poll():
        while True:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(poll(), timeout)


def codes(client: LanguageClient, uri: str) -> list[str]:
    return [d.code for d in client.diagnostics.get(uri, ())]


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[SERVER], server_env={**os.environ, "PLUMB_LSP_FAIL": "hover"})
)
async def failing_hover_client(lsp_client: LanguageClient, workspace):
    await start(lsp_client, workspace)
    yield
    await lsp_client.shutdown_session()

"""The TextMate grammar (editors/vscode) against the real lexer, on every fixture.

The server's semantic tokens come from Plumb's own lexer; the grammar is a separate
set of regular expressions. On every program of fixtures/ and examples/, every keyword,
string, number (integer, duration, size) and comment the lexer sees must get the
corresponding TextMate scope.
"""

import json
import pathlib
import subprocess

from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import ROOT, open_file

TOKENIZE = ROOT / "editors" / "vscode" / "test" / "tokenize.js"
LEGEND = ["keyword", "string", "number", "comment", "variable", "function", "class", "parameter", "property", "namespace", "operator", "type"]
EXPECTED = {
    "keyword": ("keyword.control.plumb", "constant.language.boolean.plumb"),
    "string": ("string.quoted.",),
    "number": ("constant.numeric.",),
    "comment": ("comment.line.number-sign.plumb",),
}


def programs() -> list[pathlib.Path]:
    files = sorted((ROOT / "fixtures").rglob("*.plumb")) + sorted((ROOT / "examples").rglob("*.plumb"))
    assert len(files) > 100, "the fixtures are missing"
    return files


def textmate(files: list[pathlib.Path]) -> dict:
    if not (ROOT / "editors" / "vscode" / "node_modules" / "vscode-textmate").exists():
        raise RuntimeError("editors/vscode/node_modules is missing: run `npm ci` there (scripts/test.sh does)")
    out = subprocess.run(["node", str(TOKENIZE), *map(str, files)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def decode(data: list[int]):
    line = col = 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, _ = data[i : i + 5]
        line += dl
        col = col + dc if dl == 0 else dc
        yield line, col, col + length, LEGEND[kind]


async def test_the_grammar_scopes_what_the_lexer_sees_on_every_fixture(client: LanguageClient, workspace: pathlib.Path):
    files = programs()
    scopes = textmate(files)
    checked, problems = 0, []
    for path in files:
        uri = open_file(client, path)
        result = await client.text_document_semantic_tokens_full_async(
            types.SemanticTokensParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        tm = scopes[str(path)]
        lines = path.read_text().split("\n")
        for line, start, end, kind in decode(result.data):
            if kind not in EXPECTED:
                continue
            covering = [t for t in tm if t[0] == line and t[1] < end and t[2] > start]
            ok = covering and all(any(s.startswith(e) for e in EXPECTED[kind] for s in t[3]) for t in covering)
            checked += 1
            if not ok:
                text = lines[line][start:end]
                got = sorted({s for t in covering for s in t[3] if s != "source.plumb"})
                problems.append(f"{path.relative_to(ROOT)}:{line + 1}:{start + 1}: {kind} `{text}` got {got}")
    assert checked > 1500, f"only {checked} tokens were compared"
    assert not problems, "\n".join(problems[:40])

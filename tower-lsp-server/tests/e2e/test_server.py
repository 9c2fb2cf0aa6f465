"""End-to-end tests of the language server: every feature, through a real client."""

import pathlib

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from conftest import codes, open_file, position, wait_for


def change(client: LanguageClient, uri: str, version: int, start: types.Position, end: types.Position, text: str):
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(range=types.Range(start=start, end=end), text=text)
            ],
        )
    )


async def test_diagnostics_carry_codes_links_and_related_spans(client: LanguageClient, workspace: pathlib.Path):
    text = (
        "pipeline p {\n"
        "  stage s {\n"
        '    job a { image = "busybox:1.36.1@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91", run = ["x"], needs = [b] }\n'
        '    job b { image = "alpine", run = ["x"], needs = [a] }\n'
        "  }\n"
        "}\n"
    )
    path = workspace / "cycle.plumb"
    path.write_text(text)
    uri = open_file(client, path)
    await wait_for(lambda: "PL2001" in codes(client, uri) and "PL3001" in codes(client, uri))
    by_code = {d.code: d for d in client.diagnostics[uri]}
    cycle = by_code["PL2001"]
    assert cycle.severity == types.DiagnosticSeverity.Error
    assert cycle.code_description.href.endswith("/PL2001")
    assert cycle.source == "plumb"
    assert cycle.related_information, "the cycle's other edges are related information"
    assert all(r.location.uri == uri for r in cycle.related_information)
    latest = by_code["PL3001"]
    assert latest.range.start == position(text, '"alpine"')


async def test_an_edit_that_fixes_an_error_clears_its_diagnostic(client: LanguageClient, workspace: pathlib.Path):
    text = (workspace / "web.plumb").read_text().replace("needs = [compile]", "needs = [compil]")
    uri = open_file(client, workspace / "web.plumb", text)
    await wait_for(lambda: "PL1001" in codes(client, uri))
    at = position(text, "compil]", offset=len("compil"))
    change(client, uri, 2, at, at, "e")
    await wait_for(lambda: uri in client.diagnostics and codes(client, uri) == [])


async def test_an_edit_in_an_imported_file_updates_its_importers(client: LanguageClient, workspace: pathlib.Path):
    web = (workspace / "web.plumb").as_uri()
    common_path = workspace / "common.plumb"
    common = common_path.read_text()
    uri = open_file(client, common_path)
    await wait_for(lambda: uri in client.diagnostics)
    assert codes(client, web) == []
    # the shared image loses its digest: the literal is reported where it is written,
    # and web.plumb, whose `release` job gets a secret, now gives it to an unpinned image
    start = position(common, "@sha256")
    end = position(common, '"\n\nsecret')
    change(client, uri, 2, start, end, "")
    await wait_for(lambda: "PL3003" in codes(client, uri))
    await wait_for(lambda: codes(client, web) == ["PL4005"])


async def test_hover_shows_types_images_fields_and_rules(client: LanguageClient, workspace: pathlib.Path):
    text = (workspace / "web.plumb").read_text()
    uri = open_file(client, workspace / "web.plumb")
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "img", 0, 1))
    )
    value = hover.contents.value
    assert "let img: String" in value and "digest: `sha256:9d75" in value and "common.plumb" in value
    common = (workspace / "common.plumb").read_text()
    common_uri = open_file(client, workspace / "common.plumb")
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=common_uri), position=position(common, "kubectl ", 0, 1))
    )
    value = hover.contents.value
    # the interpolation is resolved before the reference is read
    assert "image `registry.example.com/tools/kubectl:1.30.2`" in value, value
    assert "registry: `registry.example.com`" in value and "tag: `1.30.2`" in value and "not pinned" in value
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "needs", 0, 2))
    )
    assert "Jobs of the same pipeline" in hover.contents.value
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "deploy_token", 0, 3))
    )
    assert "ci_variable" in hover.contents.value
    bad = workspace / "bad.plumb"
    bad_text = 'pipeline p { stage s { job j { image = "alpine", run = ["x"] } } }\n'
    bad.write_text(bad_text)
    bad_uri = open_file(client, bad)
    await wait_for(lambda: "PL3001" in codes(client, bad_uri))
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=bad_uri), position=position(bad_text, "alpine", 0, 2))
    )
    assert "PL3001" in hover.contents.value and "latest" in hover.contents.value


async def test_definition_of_jobs_stages_templates_lets_secrets_and_imports(client: LanguageClient, workspace: pathlib.Path):
    web_path, common_path = workspace / "web.plumb", workspace / "common.plumb"
    web, common = web_path.read_text(), common_path.read_text()
    uri = open_file(client, web_path)

    async def definition(needle, nth=0, offset=1):
        result = await client.text_document_definition_async(
            types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(web, needle, nth, offset))
        )
        return result

    d = await definition("compile]")
    assert d.uri == uri and d.range.start == position(web, "compile from")
    d = await definition("build {", 0, 0)
    assert d.uri == uri
    d = await definition("after build", 0, len("after "))
    assert d.range.start == position(web, "build {")
    d = await definition("builder")
    assert d.uri == common_path.as_uri() and d.range.start == position(common, "builder(")
    d = await definition("img")
    assert d.uri == common_path.as_uri() and d.range.start == position(common, "img =")
    d = await definition("deploy_token")
    assert d.range.start == position(common, "deploy_token =")
    d = await definition('"common.plumb"', 0, 3)
    assert d.uri == common_path.as_uri()
    d = await definition('pkg = "./cmd', 0, 1)
    assert d.uri == common_path.as_uri() and d.range.start == position(common, "pkg:")


async def test_references_span_files(client: LanguageClient, workspace: pathlib.Path):
    common_path = workspace / "common.plumb"
    common = common_path.read_text()
    uri = open_file(client, common_path)
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(common, "builder(", 0, 2),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    files = sorted(r.uri.rsplit("/", 1)[1] for r in refs)
    assert files == ["common.plumb", "web.plumb", "web.plumb"]


async def test_rename_across_two_files(client: LanguageClient, workspace: pathlib.Path):
    common_path, web_path = workspace / "common.plumb", workspace / "web.plumb"
    common = common_path.read_text()
    uri = open_file(client, common_path)
    prepared = await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(common, "img =", 0, 1))
    )
    assert prepared is not None
    edit = await client.text_document_rename_async(
        types.RenameParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(common, "img =", 0, 1),
            new_name="base_image",
        )
    )
    changes = edit.changes
    assert len(changes[uri]) == 2, "the let and the parameter default"
    assert len(changes[web_path.as_uri()]) == 2, "the two jobs of web.plumb"
    assert all(e.new_text == "base_image" for edits in changes.values() for e in edits)
    with pytest.raises(Exception):
        await client.text_document_rename_async(
            types.RenameParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=position(common, "img =", 0, 1),
                new_name="not a name",
            )
        )


async def completions(client, uri, text, needle, offset):
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, needle, 0, offset))
    )
    items = result.items if hasattr(result, "items") else result
    return {i.label: i for i in items}


async def test_completion_in_every_context(client: LanguageClient, workspace: pathlib.Path):
    text = (
        'import "common.plumb"\n'
        "secret other = \n"
        "pipeline p {\n"
        "  stage one {\n"
        "    job a from  { }\n"
        "    job b from builder() { }\n"
        "    job c {\n"
        "      \n"
        "      needs = [a, ]\n"
        "    }\n"
        "  }\n"
        "  stage two after  {\n"
        "  }\n"
        "}\n"
    )
    path = workspace / "edit.plumb"
    path.write_text(text)
    uri = open_file(client, path)
    items = await completions(client, uri, text, "secret other = ", len("secret other = "))
    assert {"ci_variable", "vault", "k8s_secret"} <= set(items)
    items = await completions(client, uri, text, "from  {", len("from "))
    assert "builder" in items
    items = await completions(client, uri, text, "builder()", len("builder("))
    assert {"pkg", "image"} <= set(items) and "Image" in items["image"].detail
    items = await completions(client, uri, text, "      \n", 6)
    assert {"image", "run", "needs", "timeout"} <= set(items)
    assert items["timeout"].detail.startswith("Duration")
    items = await completions(client, uri, text, "needs = [a, ]", len("needs = [a, "))
    assert {"a", "b", "c"} <= set(items)
    items = await completions(client, uri, text, "after  {", len("after "))
    assert {"one", "two"} <= set(items)
    # an expression: the lets and secrets in scope (here a file with one thing missing)
    value = 'import "common.plumb"\nlet mine = "x:1"\npipeline p { stage s { job j {\n  image = \n  run = ["x"]\n} } }\n'
    other = workspace / "value.plumb"
    other.write_text(value)
    other_uri = open_file(client, other)
    items = await completions(client, other_uri, value, "image = \n", len("image = "))
    assert {"img", "deploy_token", "mine"} <= set(items)
    assert "builder" not in items, "a template is not a value"


async def test_document_symbols_nest_pipelines_stages_jobs(client: LanguageClient, workspace: pathlib.Path):
    uri = open_file(client, workspace / "web.plumb")
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    (web,) = symbols
    assert web.name == "web"
    assert [s.name for s in web.children] == ["build", "test", "deploy"]
    assert [j.name for j in web.children[0].children] == ["compile", "vet"]
    assert web.children[0].children[0].detail == "from builder"


async def test_formatting_gives_the_canonical_layout(client: LanguageClient, workspace: pathlib.Path):
    path = workspace / "ugly.plumb"
    ugly = 'let   a="x:1"\npipeline p{stage s{job j{image=a,run=["x"]}}}\n'
    path.write_text(ugly)
    uri = open_file(client, path)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True)
        )
    )
    (edit,) = edits
    assert edit.new_text == 'let a = "x:1"\n\npipeline p {\n  stage s { job j { image = a, run = ["x"] } }\n}\n'


async def test_code_actions_apply_the_fixes_of_diagnostics(client: LanguageClient, workspace: pathlib.Path):
    text = (workspace / "web.plumb").read_text().replace("image = img\n      needs = [compile]", "image = imgg\n      needs = [compile]")
    uri = open_file(client, workspace / "web.plumb", text)
    await wait_for(lambda: "PL1001" in codes(client, uri))
    (diag,) = [d for d in client.diagnostics[uri] if d.code == "PL1001"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diag.range,
            context=types.CodeActionContext(diagnostics=[diag]),
        )
    )
    titles = [a.title for a in actions]
    assert any("img" in t for t in titles), titles
    assert any("plumb-allow" in t for t in titles), titles
    fix = next(a for a in actions if "img" in a.title and "plumb-allow" not in a.title)
    (edit,) = fix.edit.changes[uri]
    assert edit.new_text == "img" and edit.range == diag.range


async def test_semantic_tokens_colour_keywords_names_and_literals(client: LanguageClient, workspace: pathlib.Path):
    text = (workspace / "common.plumb").read_text()
    uri = open_file(client, workspace / "common.plumb")
    result = await client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    data = result.data
    assert len(data) % 5 == 0 and len(data) > 20
    # decode
    tokens, line, col = [], 0, 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, _ = data[i : i + 5]
        line += dl
        col = col + dc if dl == 0 else dc
        tokens.append((line, col, length, kind))
    lines = text.split("\n")
    words = {(lines[l][c : c + n], k) for l, c, n, k in tokens}
    types_ = ["keyword", "string", "number", "comment", "variable", "function", "class", "parameter", "property", "namespace", "operator", "type"]
    named = {w: types_[k] for w, k in words}
    assert named["let"] == "keyword" and named["template"] == "keyword"
    assert named["img"] == "variable" and named["builder"] == "class" and named["pkg"] == "parameter"
    assert named["String"] == "type"
    assert any(v == "comment" for v in named.values())
    assert any(w.startswith('"busybox') and v == "string" for w, v in named.items())


async def test_requests_on_a_file_with_syntax_errors_still_answer(client: LanguageClient, workspace: pathlib.Path):
    text = 'let a = "x:1"\npipeline p {\n  stage s {\n    job j { image = a, run = [\n  }\n'
    path = workspace / "broken.plumb"
    path.write_text(text)
    uri = open_file(client, path)
    await wait_for(lambda: "PL0001" in codes(client, uri))
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert any(s.name == "p" for s in symbols)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "image = a", 0, len("image = ")))
    )
    assert hover is not None and "let a" in hover.contents.value
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True)
        )
    )
    assert not edits, "a file with syntax errors is not formatted"


async def test_plumb_lsp_subcommand_is_the_same_server(plumb_lsp_client: LanguageClient, workspace: pathlib.Path):
    uri = open_file(plumb_lsp_client, workspace / "web.plumb")
    await wait_for(lambda: uri in plumb_lsp_client.diagnostics)
    assert codes(plumb_lsp_client, uri) == []
    symbols = await plumb_lsp_client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert [s.name for s in symbols] == ["web"]


async def test_renaming_a_job_renames_its_needs(client: LanguageClient, workspace: pathlib.Path):
    web = (workspace / "web.plumb").read_text()
    uri = open_file(client, workspace / "web.plumb")
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(web, "compile from", 0, 1), new_name="build-web")
    )
    ranges = sorted((e.range.start.line, e.range.start.character) for e in edit.changes[uri])
    expected = sorted((p.line, p.character) for p in [position(web, "compile from"), position(web, "compile]")])
    assert ranges == expected
    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(web, "build {", 0, 1),
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    assert [r.range.start for r in refs] == [position(web, "after build", 0, len("after "))]


async def test_plumb_toml_and_deleted_files_reach_the_server(client: LanguageClient, workspace: pathlib.Path):
    path = workspace / "latest.plumb"
    path.write_text('pipeline p { stage s { job j { image = "alpine", run = ["x"] } } }\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Created)])
    )
    await wait_for(lambda: codes(client, path.as_uri()) == ["PL3001"])
    toml = workspace / "plumb.toml"
    toml.write_text('[lint]\nallow = ["PL3001"]\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=toml.as_uri(), type=types.FileChangeType.Created)])
    )
    await wait_for(lambda: path.as_uri() in client.diagnostics and codes(client, path.as_uri()) == [])
    toml.unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=toml.as_uri(), type=types.FileChangeType.Deleted)])
    )
    await wait_for(lambda: codes(client, path.as_uri()) == ["PL3001"])
    path.unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Deleted)])
    )
    await wait_for(lambda: codes(client, path.as_uri()) == [])


async def test_no_completion_inside_strings_and_comments(client: LanguageClient, workspace: pathlib.Path):
    text = 'let a = "go test ./... "\n# a comment \nlet b = "${a} x"\n'
    path = workspace / "strings.plumb"
    path.write_text(text)
    uri = open_file(client, path)
    assert await completions(client, uri, text, "./... ", len("./... ")) == {}
    assert await completions(client, uri, text, "a comment ", len("a comment ")) == {}
    # inside an interpolation, names are offered again
    items = await completions(client, uri, text, "${a}", len("${"))
    assert "a" in items


async def test_a_panicking_request_is_logged_and_the_server_goes_on(failing_hover_client: LanguageClient, workspace: pathlib.Path):
    client = failing_hover_client
    text = (workspace / "web.plumb").read_text()
    uri = open_file(client, workspace / "web.plumb")
    with pytest.raises(Exception):
        await client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "img", 0, 1))
        )
    await wait_for(lambda: any("hover failed" in m.message for m in client.log_messages))
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert [s.name for s in symbols] == ["web"]
    await wait_for(lambda: uri in client.diagnostics)


async def test_qualified_templates_in_every_feature(client: LanguageClient, workspace: pathlib.Path):
    # `import "…" as c` then `from c.builder(…)` (issue #14): checked, and followed by
    # definition, references, rename, hover and completion
    text = (
        'import "common.plumb" as c\n'
        "pipeline q {\n"
        "  stage s {\n"
        '    job a from c.builder(pkg = "./x") { }\n'
        "    job b from c. { }\n"
        "  }\n"
        "}\n"
    )
    path = workspace / "qualified.plumb"
    path.write_text(text)
    uri = open_file(client, path)
    common_path = workspace / "common.plumb"
    common = common_path.read_text()
    await wait_for(lambda: "PL0001" in codes(client, uri))
    assert "PL1001" not in codes(client, uri), "c.builder resolves"

    d = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "builder(", 0, 2))
    )
    assert d.uri == common_path.as_uri() and d.range.start == position(common, "builder(")

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "builder(", 0, 2))
    )
    assert "builder" in hover.contents.value and "pkg" in hover.contents.value, hover.contents.value

    refs = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position(text, "builder(", 0, 2),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert "qualified.plumb" in {r.uri.rsplit("/", 1)[1] for r in refs}

    edit = await client.text_document_rename_async(
        types.RenameParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "builder(", 0, 2), new_name="go_build"
        )
    )
    assert [e.new_text for e in edit.changes[uri]] == ["go_build"]
    assert any(e.new_text == "go_build" for e in edit.changes[common_path.as_uri()])

    items = await completions(client, uri, text, "from c. {", len("from c."))
    assert set(items) == {"builder"}, set(items)
    items = await completions(client, uri, text, 'c.builder(pkg', len("c.builder("))
    assert {"pkg", "image"} <= set(items)


async def test_each_file_follows_the_nearest_plumb_toml(client: LanguageClient, workspace: pathlib.Path):
    # a monorepo: svc/plumb.toml governs svc/ only (issue #14: the first folder's
    # plumb.toml used to apply to every file)
    svc = workspace / "svc"
    svc.mkdir()
    inner, outer = svc / "a.plumb", workspace / "b.plumb"
    for path in (inner, outer):
        path.write_text('pipeline p { stage s { job j { image = "alpine", run = ["x"] } } }\n')
    toml = svc / "plumb.toml"
    toml.write_text('[lint]\nallow = ["PL3001"]\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(uri=p.as_uri(), type=types.FileChangeType.Created) for p in (inner, outer, toml)
            ]
        )
    )
    await wait_for(lambda: codes(client, outer.as_uri()) == ["PL3001"])
    await wait_for(lambda: inner.as_uri() in client.diagnostics and codes(client, inner.as_uri()) == [])


async def test_record_keys_and_allowed_strings_complete_and_hover(client: LanguageClient, workspace: pathlib.Path):
    text = (
        "pipeline p {\n"
        "  default = { }\n"
        "  stage s {\n"
        "    job a {\n"
        "      artifacts = { paths = [\"x\"], reports = {  } }\n"
        "      if_previous = \"\"\n"
        "      environment = { name = \"prod\", tier = \"\" }\n"
        "      cache = {\n"
        "        \n"
        "      }\n"
        "    }\n"
        "    job stop_a { environment = { name = \"prod\", action = \"stop\" } }\n"
        "    job b { environment = { name = \"prod\", on_stop = stop_a } }\n"
        "  }\n"
        "}\n"
    )
    path = workspace / "records.plumb"
    path.write_text(text)
    uri = open_file(client, path)
    items = await completions(client, uri, text, "reports = {  }", len("reports = { "))
    assert {"junit", "dotenv", "coverage"} <= set(items) and "paths" not in items
    items = await completions(client, uri, text, 'paths = ["x"], ', len('paths = ["x"], '))
    assert {"paths", "expire_in", "reports", "when"} <= set(items)
    items = await completions(client, uri, text, "        \n      }", 8)
    assert {"key", "paths", "policy"} <= set(items)
    items = await completions(client, uri, text, "default = { }", len("default = { "))
    assert {"image", "run", "after_run", "interruptible"} <= set(items)
    items = await completions(client, uri, text, 'if_previous = ""', len('if_previous = "'))
    assert set(items) == {"success", "failure", "always"}
    items = await completions(client, uri, text, 'tier = ""', len('tier = "'))
    assert {"production", "staging", "development"} <= set(items)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "reports", 0, 2))
    )
    assert "Reports" in hover.contents.value and "report" in hover.contents.value
    assert "GitLab CI: `artifacts: reports:`" in hover.contents.value
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "if_previous", 0, 2))
    )
    assert "on_failure" in hover.contents.value and "GitLab CI" in hover.contents.value
    # `on_stop` names a job: definition goes there
    locations = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "on_stop = stop_a", 0, len("on_stop = ") + 1))
    )
    location = locations[0] if isinstance(locations, list) else locations
    assert location.range.start.line == 11, location


async def test_an_open_gitlab_ci_file_gets_its_findings_on_the_yaml(client: LanguageClient, workspace: pathlib.Path):
    text = (
        "build:\n"
        "  image: node:latest\n"
        "  script:\n"
        "    - echo \"deploying with $DEPLOY_TOKEN\"\n"
        "    - curl -fsSL https://get.example.com/setup.sh | bash\n"
    )
    path = workspace / ".gitlab-ci.yml"
    path.write_text(text)
    uri = open_file(client, path)
    await wait_for(lambda: {"PL3002", "PL4003", "PL6002"} <= set(codes(client, uri)))
    by_code = {d.code: d for d in client.diagnostics[uri]}
    assert by_code["PL3002"].range.start == position(text, "latest")
    assert by_code["PL4003"].range.start == position(text, "$DEPLOY_TOKEN")
    assert "$DEPLOY_TOKEN" in by_code["PL4003"].message, "the YAML's variable, not the program's name"
    # hover on the image shows its parsed reference
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position(text, "node", 0, 1))
    )
    assert "registry: `docker.io`" in hover.contents.value and "tag: `latest`" in hover.contents.value
    # quick fixes edit the YAML as written (never the file's text read as Plumb)
    (download,) = [d for d in client.diagnostics[uri] if d.code == "PL6002"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=download.range,
            context=types.CodeActionContext(diagnostics=[download]),
        )
    )
    titles = sorted(a.title for a in actions if download.code in str(a.diagnostics[0].code))
    assert titles[0].startswith("check the download's SHA-256") and "plumb-allow" in titles[1], titles
    verify = next(a for a in actions if a.title.startswith("check the download"))
    (edit,) = verify.edit.changes[uri]
    assert edit.range.start == position(text, " | bash") and "sha256sum -c" in edit.new_text
    allow = next(a for a in actions if "plumb-allow" in a.title and a.diagnostics[0].code == "PL6002")
    (edit,) = allow.edit.changes[uri]
    assert edit.new_text == "    # plumb-allow: PL6002 <why this is safe>\n" and edit.range.start.line == 4
    # an edit that pins the image clears its finding; nothing reads the YAML as Plumb
    change(client, uri, 2, position(text, "latest"), position(text, "latest", 0, 6), "20.11.1@sha256:" + "a" * 64)
    await wait_for(lambda: "PL3002" not in codes(client, uri) and "PL6002" in codes(client, uri))
    assert "PL0001" not in codes(client, uri)
    formatted = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            options=types.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    assert not formatted, "a GitLab CI file is never formatted as Plumb"


async def test_findings_of_an_included_file_are_not_drawn_in_the_open_one(client: LanguageClient, workspace: pathlib.Path):
    (workspace / "ci").mkdir()
    (workspace / "ci" / "templates.yml").write_text(".tpl:\n  image: node:latest\n  script:\n    - echo $DEPLOY_TOKEN\n")
    text = (
        "include:\n  - local: ci/templates.yml\n\n"
        "c:\n  extends: .tpl\n\n"
        "d:\n  image: ruby:latest\n  script: [make]\n"
    )
    path = workspace / ".gitlab-ci.yml"
    path.write_text(text)
    uri = open_file(client, path)
    await wait_for(lambda: "PL3002" in codes(client, uri))
    lines = sorted(d.range.start.line for d in client.diagnostics[uri])
    # only `d`'s own image (line 8): the template's findings belong to ci/templates.yml
    assert lines == [7], [(d.code, d.range.start.line) for d in client.diagnostics[uri]]


async def test_a_misspelt_gitlab_keyword_is_an_error_with_its_rename(client: LanguageClient, workspace: pathlib.Path):
    digest = "a" * 64
    text = f"test:\n  image: alpine:3.20@sha256:{digest}\n  artifcats:\n    paths: [out/]\n  script: [make]\n"
    path = workspace / ".gitlab-ci.yml"
    path.write_text(text)
    uri = open_file(client, path)
    await wait_for(lambda: "PL1004" in codes(client, uri))
    (typo,) = [d for d in client.diagnostics[uri] if d.code == "PL1004"]
    assert typo.range.start == position(text, "artifcats") and typo.range.end == position(text, ":", 4)
    assert "`artifcats` is not a GitLab job keyword" in typo.message, typo.message
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=typo.range,
            context=types.CodeActionContext(diagnostics=[typo]),
        )
    )
    rename = next(a for a in actions if a.title.startswith("rename"))
    (edit,) = rename.edit.changes[uri]
    assert edit.new_text == "artifacts" and edit.range == typo.range

// The extension starts the configured server with the right client options
// (VS Code itself and the language client are replaced by recording stubs).
"use strict";

const test = require("node:test");
const assert = require("node:assert");
const Module = require("node:module");

function load(settings) {
  const created = [];
  const stubs = {
    vscode: {
      workspace: {
        getConfiguration: (section) => {
          assert.strictEqual(section, "plumb");
          return { get: (key) => settings[key] };
        },
        createFileSystemWatcher: (glob) => ({ glob }),
      },
      window: { showErrorMessage: (m) => created.push({ error: m }) },
    },
    "vscode-languageclient/node": {
      TransportKind: { stdio: 0 },
      LanguageClient: class {
        constructor(id, name, serverOptions, clientOptions) {
          created.push({ id, name, serverOptions, clientOptions });
        }
        start() {
          return Promise.resolve();
        }
        stop() {
          return Promise.resolve();
        }
      },
    },
  };
  const original = Module._load;
  Module._load = function (request, parent, isMain) {
    if (request in stubs) return stubs[request];
    return original.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[require.resolve("../src/extension.js")];
    const ext = require("../src/extension.js");
    const context = { subscriptions: [] };
    return { ext, context, created };
  } finally {
    Module._load = original;
  }
}

test("starts `plumb lsp` by default, for .plumb files", async () => {
  const { ext, context, created } = load({});
  await ext.activate(context);
  const [client] = created;
  assert.strictEqual(client.id, "plumb");
  assert.deepStrictEqual(client.serverOptions, { command: "plumb", args: ["lsp"], transport: 0 });
  assert.deepStrictEqual(client.clientOptions.documentSelector, [
    { scheme: "file", language: "plumb" },
    { scheme: "file", pattern: "**/{.gitlab-ci.yml,*.gitlab-ci.yml,*.gitlab-ci.yaml}" },
  ]);
  assert.strictEqual(client.clientOptions.synchronize.fileEvents.glob, "**/{*.plumb,plumb.toml}");
  assert.strictEqual(context.subscriptions.length, 1);
});

test("the server path and arguments are configurable", async () => {
  const { ext, context, created } = load({ "server.path": "/opt/plumb/plumb-lsp", "server.args": [] });
  await ext.activate(context);
  assert.deepStrictEqual(created[0].serverOptions, { command: "/opt/plumb/plumb-lsp", args: [], transport: 0 });
});

test("package.json contributes the language, its grammar and its configuration", () => {
  const pkg = require("../package.json");
  const [language] = pkg.contributes.languages;
  assert.deepStrictEqual(language.extensions, [".plumb"]);
  const [grammar] = pkg.contributes.grammars;
  assert.strictEqual(grammar.scopeName, "source.plumb");
  const fs = require("node:fs");
  const path = require("node:path");
  const shipped = fs.readFileSync(path.join(__dirname, "..", grammar.path), "utf8");
  const source = fs.readFileSync(path.join(__dirname, "../../../grammar/plumb.tmLanguage.json"), "utf8");
  assert.strictEqual(shipped, source, "syntaxes/ must be a copy of grammar/plumb.tmLanguage.json");
  const conf = JSON.parse(fs.readFileSync(path.join(__dirname, "../language-configuration.json"), "utf8"));
  assert.strictEqual(conf.comments.lineComment, "#");
});

test("the grammar knows every keyword of grammar/plumb.ebnf", () => {
  const fs = require("node:fs");
  const path = require("node:path");
  const ebnf = fs.readFileSync(path.join(__dirname, "../../../grammar/plumb.ebnf"), "utf8");
  const grammar = fs.readFileSync(path.join(__dirname, "../syntaxes/plumb.tmLanguage.json"), "utf8");
  // the `keyword = "import" | … ;` production, which may span lines
  const production = ebnf.slice(ebnf.indexOf("keyword "), ebnf.indexOf(";", ebnf.indexOf("keyword ")));
  const keywords = new Set([...production.matchAll(/"([a-z]+)"/g)].map((m) => m[1]));
  assert.ok(keywords.size >= 10, `keywords found in the EBNF: ${[...keywords]}`);
  for (const k of keywords) {
    assert.ok(new RegExp(`[(|]${k}[|)]`).test(grammar), `keyword \`${k}\` is missing from the TextMate grammar`);
  }
});

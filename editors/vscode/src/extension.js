// The Plumb extension: starts `plumb lsp` (configurable) and connects VS Code to it.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

/** The GitLab CI files the server checks: `.gitlab-ci.yml`, `*.gitlab-ci.yml`, `*.gitlab-ci.yaml`. */
const GITLAB_CI = "**/{.gitlab-ci.yml,*.gitlab-ci.yml,*.gitlab-ci.yaml}";

/** What to run: `plumb.server.path` with `plumb.server.args` (default `plumb lsp`). */
function serverCommand(config) {
  const command = config.get("server.path") || "plumb";
  const args = config.get("server.args");
  return { command, args: Array.isArray(args) ? args : ["lsp"] };
}

function activate(context) {
  const { command, args } = serverCommand(vscode.workspace.getConfiguration("plumb"));
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "plumb" },
      // GitLab CI files are checked as they are, next to whatever YAML extension the
      // user has (by name, whatever language that extension calls them)
      { scheme: "file", pattern: GITLAB_CI },
    ],
    synchronize: {
      // files changed outside the editor (git checkout, plumb fmt) reach the server
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.plumb,plumb.toml}"),
    },
  };
  client = new LanguageClient("plumb", "Plumb", serverOptions, clientOptions);
  const started = client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `Plumb: cannot start \`${command} ${args.join(" ")}\` (${error.message}). ` +
        "Install plumb or set `plumb.server.path`."
    );
  });
  context.subscriptions.push({ dispose: () => (client ? client.stop() : undefined) });
  return started;
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, serverCommand, GITLAB_CI };

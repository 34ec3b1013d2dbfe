// Starts `netc lsp` for .net files; everything else is the server's work.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("netc").get("path") || "netc";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "netc",
    "netc lsp",
    { run: server, debug: server },
    { documentSelector: [{ language: "netc" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

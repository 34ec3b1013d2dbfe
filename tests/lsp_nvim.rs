//! `netc lsp` with a real editor: Neovim's built-in LSP client, headless,
//! opens a `.net` file with an error and must receive netc's diagnostic, and
//! a hover with the activation's shape. Skipped, with a note, where `nvim`
//! is not installed (`.ci/run` installs it).

mod common;

use std::process::Command;

/// Starts the client as Neovim 0.8+ does (`vim.lsp.start`), or as 0.7 does
/// (Debian bookworm's), waits for diagnostics, asks for a hover, and writes
/// what it got to the file named by `$NETC_NVIM_OUT`.
const CLIENT: &str = r#"
local out = os.getenv("NETC_NVIM_OUT")
local config = { name = "netc", cmd = { os.getenv("NETC_BIN"), "lsp" }, root_dir = vim.fn.getcwd() }
if vim.lsp.start then
  vim.lsp.start(config)
else
  vim.lsp.buf_attach_client(0, vim.lsp.start_client(config))
end
local got = vim.wait(15000, function() return #vim.diagnostic.get(0) > 0 end, 50)
local lines = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(lines, string.format("diagnostic %d:%d %s", d.lnum, d.col, (d.message:gsub("\n", " | "))))
end
if got then
  local params = { textDocument = vim.lsp.util.make_text_document_params(), position = { line = 3, character = 1 } }
  local replies = vim.lsp.buf_request_sync(0, "textDocument/hover", params, 5000) or {}
  for _, r in pairs(replies) do
    if r.result then
      table.insert(lines, "hover " .. (r.result.contents.value:gsub("\n", " | ")))
    end
  end
end
vim.fn.writefile(lines, out)
vim.cmd("qa!")
"#;

#[test]
fn neovim_receives_the_diagnostics_netc_lsp_publishes() {
    if Command::new("nvim").arg("--version").output().is_err() {
        common::skipped("`nvim` is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let net = dir.path().join("a.net");
    let text = "net a v1\ninput x: 4\nlabel y: classes(2)\nh1 = relu(linear(x, 8))\n\
                out = rleu(linear(h1, 2))\nloss = cross_entropy(out, y)\n\
                train { data: synthetic(samples: 8) }\n";
    std::fs::write(&net, text).expect("write a.net");
    let script = dir.path().join("client.lua");
    std::fs::write(&script, CLIENT).expect("write client.lua");
    let out = dir.path().join("out.txt");
    let run = Command::new("nvim")
        .args(["--headless", "--clean", "-n"])
        .arg(&net)
        .arg("-c")
        .arg(format!("luafile {}", script.display()))
        .env("NETC_BIN", env!("CARGO_BIN_EXE_netc"))
        .env("NETC_NVIM_OUT", &out)
        .current_dir(dir.path())
        .output()
        .expect("nvim ran");
    let got = std::fs::read_to_string(&out).unwrap_or_default();
    let context = format!(
        "nvim exited {:?}\nstdout: {}\nstderr: {}\nout: {got}",
        run.status.code(),
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    // Line 4, column 6 (0-based): `rleu`, with the hint.
    assert!(
        got.contains("diagnostic 4:6 unknown function `rleu`"),
        "{context}"
    );
    assert!(got.contains("help: did you mean `relu`?"), "{context}");
    // The hover on `h1` (line 3) answered with its shape, though the file has an error.
    assert!(
        got.contains("hover ```netc | h1 = relu(linear(x, 8))"),
        "{context}"
    );
    assert!(got.contains("`[8]` per sample"), "{context}");
}

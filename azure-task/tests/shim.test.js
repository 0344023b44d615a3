'use strict';
// The shim's tests: task-lib's MockTestRunner for pass, fail-on-issues, a bad input and a
// missing binary; a real run against a fake binary to see the inputs arrive.
const assert = require('node:assert');
const { test, before } = require('node:test');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const ttm = require('azure-pipelines-task-lib/mock-test');

// MockTestRunner downloads a Node binary unless its cache holds one: seed it with this node.
before(() => {
  const dir = path.join(os.homedir(), 'azure-pipelines-task-lib', '_download');
  const bindir = path.join(dir, 'node20', 'node-v20.13.1-linux-x64', 'bin');
  fs.mkdirSync(bindir, { recursive: true });
  const link = path.join(bindir, 'node');
  try { fs.unlinkSync(link); } catch (e) { /* first run */ }
  fs.symlinkSync(process.execPath, link);
  fs.writeFileSync(path.join(dir, 'node20.completed'), '');
});

async function runScenario(name) {
  process.env.IMAGEGATE_TEST_SCENARIO = name;
  const tr = new ttm.MockTestRunner(path.join(__dirname, 'mock.js'));
  await tr.runAsync(20);
  return tr;
}

test('pass', async () => {
  const tr = await runScenario('pass');
  assert.ok(tr.succeeded, tr.stdout);
  assert.ok(tr.invokedToolCount === 1, 'the binary ran once');
  assert.ok(tr.stdOutContained('##vso[task.complete result=Succeeded;]'));
});

test('fail on issues', async () => {
  const tr = await runScenario('fail');
  assert.ok(tr.failed, tr.stdout);
  assert.ok(tr.stdOutContained('##vso[task.logissue code=CVE-2021-44906;type=error;]'));
  // The binary set the result: the shim adds no issue of its own (the agent keeps 10).
  assert.ok(!tr.stdOutContained('source=TaskInternal'), tr.stdout);
});

test('a binary that ends without a result', async () => {
  const tr = await runScenario('crash');
  assert.ok(tr.failed, tr.stdout);
  assert.ok(tr.stdOutContained('the scan could not complete (exit 3)'), tr.stdout);
});

test('bad input', async () => {
  const tr = await runScenario('bad-input');
  assert.ok(tr.failed, tr.stdout);
  assert.ok(tr.stdOutContained('input image is required'));
});

test('missing binary', async () => {
  const tr = await runScenario('missing-binary');
  assert.ok(tr.failed, tr.stdout);
  assert.strictEqual(tr.invokedToolCount, 0);
  assert.ok(tr.stdOutContained('No imagegate binary for'), tr.stdout);
});

test('the shim passes every task.json input and the job token to the binary', () => {
  const task = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'task.json'), 'utf8'));
  assert.ok(task.inputs.some((i) => i.type === 'filePath'), 'some inputs are paths');

  // A fake binary that prints what it was given.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imagegate-shim-'));
  const osName = { linux: 'linux', win32: 'windows', darwin: 'darwin' }[process.platform];
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch];
  fs.mkdirSync(path.join(dir, `${osName}-${arch}`));
  const fake = path.join(dir, `${osName}-${arch}`, 'imagegate');
  fs.writeFileSync(fake, '#!/bin/sh\necho "args=$*"\necho "image=$IMAGEGATE_INPUT_dockerImageName"\necho "threshold=$IMAGEGATE_INPUT_severityThreshold"\necho "token=$IMAGEGATE_ACCESS_TOKEN"\necho "leftover=${INPUT_DOCKERIMAGENAME:-none}"\necho "ignoreFile=[$IMAGEGATE_INPUT_ignoreFile]"\necho "vexFile=[$IMAGEGATE_INPUT_vexFile]"\nexit 0\n', { mode: 0o644 });
  const sources = fs.mkdtempSync(path.join(os.tmpdir(), 'imagegate-sources-'));
  const res = spawnSync(process.execPath, [path.join(__dirname, '..', 'index.js')], {
    env: Object.assign({}, process.env, {
      IMAGEGATE_TASK_BIN_DIR: dir,
      INPUT_DOCKERIMAGENAME: 'ghcr.io/org/app:2.1',
      INPUT_SEVERITYTHRESHOLD: 'critical',
      ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN: 'job-token',
      // The agent gives an empty filePath input as the sources folder.
      BUILD_SOURCESDIRECTORY: sources,
      INPUT_IGNOREFILE: sources,
      INPUT_VEXFILE: path.join(sources, 'vex.json'),
    }),
    encoding: 'utf8',
  });
  assert.match(res.stdout, /args=azure/);
  assert.match(res.stdout, /image=ghcr.io\/org\/app:2.1/);
  assert.match(res.stdout, /threshold=critical/);
  assert.match(res.stdout, /token=job-token/);
  assert.match(res.stdout, /leftover=none/, 'task-lib removed INPUT_*: only the explicit variables carry the inputs');
  assert.match(res.stdout, /ignoreFile=\[\]/, 'an empty filePath input arrives empty');
  assert.ok(res.stdout.includes(`vexFile=[${path.join(sources, 'vex.json')}]`), res.stdout);
  assert.ok((fs.statSync(fake).mode & 0o111) !== 0, 'the shim restored the execute bit a vsix loses');
});

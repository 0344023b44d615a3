// One mocked run of the task (task-lib's TaskMockRunner): the scenario comes from
// IMAGEGATE_TEST_SCENARIO. The binary's runs are answered by the mock, as task-lib's
// MockTestRunner expects.
'use strict';
const path = require('path');
const tmrm = require('azure-pipelines-task-lib/mock-run');

const scenario = process.env.IMAGEGATE_TEST_SCENARIO;
const bin = path.join(__dirname, 'bin');
process.env.IMAGEGATE_TASK_BIN_DIR = bin;
const OS = { linux: 'linux', win32: 'windows', darwin: 'darwin' }[process.platform];
const ARCH = { x64: 'amd64', arm64: 'arm64' }[process.arch];
const exe = path.join(bin, `${OS}-${ARCH}`, process.platform === 'win32' ? 'imagegate.exe' : 'imagegate');

const tmr = new tmrm.TaskMockRunner(path.join(__dirname, '..', 'index.js'));
tmr.setInput('dockerImageName', scenario === 'bad-input' ? '' : 'registry.example.com/app:1.0');
tmr.setInput('severityThreshold', 'high');
tmr.setInput('failOnIssues', scenario === 'fail' ? 'true' : 'false');

const runs = {
  pass: { code: 0, stdout: '##vso[task.complete result=Succeeded;]no findings' },
  fail: { code: 1, stdout: '##vso[task.logissue code=CVE-2021-44906;type=error;]CRITICAL CVE-2021-44906 in minimist 1.2.5\n##vso[task.complete result=Failed;]1 findings at or above high' },
  crash: { code: 3, stdout: 'panic: out of memory' },
  'bad-input': { code: 2, stdout: '##vso[task.logissue type=error;]input image is required: name the image to scan\n##vso[task.complete result=Failed;]input image is required' },
};
tmr.setAnswers({
  exist: { [exe]: scenario !== 'missing-binary' },
  exec: runs[scenario] ? { [`${exe} azure`]: runs[scenario] } : {},
});
tmr.run();

// The Azure DevOps task's shim: no scanning logic. It picks the imagegate binary bundled
// for the agent's OS and architecture, passes the task inputs to it explicitly
// (task-lib removes INPUT_* variables from the environment once it is loaded) together with
// the job's access token, and returns the binary's result.
'use strict';
const path = require('path');
const tl = require('azure-pipelines-task-lib/task');

// The inputs, read from task.json (beside this file in the extension, one folder up in the
// repository): every input is passed on, and a filePath input the user left empty (the
// agent gives it as the sources folder) is passed on as empty.
const fs = require('fs');
const TASK = JSON.parse(fs.readFileSync(fs.existsSync(path.join(__dirname, 'task.json')) ? path.join(__dirname, 'task.json') : path.join(__dirname, '..', 'task.json'), 'utf8'));

const OS = { linux: 'linux', win32: 'windows', darwin: 'darwin' };
const ARCH = { x64: 'amd64', arm64: 'arm64' };

function binaryPath() {
  const os = OS[process.platform];
  const arch = ARCH[process.arch];
  const exe = process.platform === 'win32' ? 'imagegate.exe' : 'imagegate';
  const dir = process.env.IMAGEGATE_TASK_BIN_DIR || path.join(__dirname, 'bin');
  return { platform: `${os || process.platform}-${arch || process.arch}`, file: path.join(dir, `${os}-${arch}`, exe) };
}

async function run() {
  try {
    const bin = binaryPath();
    if (!tl.exist(bin.file)) {
      tl.setResult(tl.TaskResult.Failed, `No imagegate binary for ${bin.platform} in ${path.dirname(bin.file)}: the extension was built without it.`);
      return;
    }
    // A vsix is a zip: it keeps no Unix modes, so the binary arrives without its execute bit.
    if (process.platform !== 'win32') {
      try {
        fs.chmodSync(bin.file, 0o755);
      } catch (err) {
        tl.debug(`chmod ${bin.file}: ${err.message}`); // running it then says what is wrong
      }
    }
    const env = Object.assign({}, process.env);
    for (const input of TASK.inputs) {
      let value = input.type === 'filePath' ? tl.getPathInput(input.name, false) : tl.getInput(input.name, false);
      if (input.type === 'filePath' && !tl.filePathSupplied(input.name)) {
        value = '';
      }
      if (value !== undefined && value !== null) {
        env['IMAGEGATE_INPUT_' + input.name] = value;
      }
    }
    const password = tl.getInput('registryPassword', false);
    if (password) {
      tl.setSecret(password);
    }
    const token = tl.getEndpointAuthorizationParameter('SystemVssConnection', 'AccessToken', true);
    if (token) {
      env.IMAGEGATE_ACCESS_TOKEN = token;
    }
    // The binary sets the task result and logs its issues itself (the verdict within the
    // agent's 10 issues per type); the shim speaks only when it did not, e.g. a crash.
    let completed = false;
    const tool = tl.tool(bin.file).arg('azure');
    tool.on('stdline', (line) => {
      if (line.startsWith('##vso[task.complete ')) {
        completed = true;
      }
    });
    const code = await tool.exec({ env: env, ignoreReturnCode: true });
    if (completed) {
      return;
    }
    switch (code) {
      case 0:
        tl.setResult(tl.TaskResult.Succeeded, 'imagegate: passed');
        break;
      case 1:
        tl.setResult(tl.TaskResult.Failed, 'imagegate: findings at or above the severity threshold');
        break;
      case 2:
        tl.setResult(tl.TaskResult.Failed, 'imagegate: a task input or the image is not usable (see the error above)');
        break;
      default:
        tl.setResult(tl.TaskResult.Failed, `imagegate: the scan could not complete (exit ${code})`);
    }
  } catch (err) {
    tl.setResult(tl.TaskResult.Failed, 'imagegate: ' + err.message);
  }
}

run();

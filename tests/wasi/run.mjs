// A WASI (preview1) runtime for the tidemark program, on Node's built-in `node:wasi`.
//
//   node tests/wasi/run.mjs MODULE.wasm --dir HOST_DIR:GUEST_DIR [--env K=V]... -- ARGS...
//
// The module sees only the folders given with --dir, at the guest paths given; standard
// input, output and error are the process's; the exit code is the module's.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const argv = process.argv.slice(2);
const module = argv.shift();
const preopens = {};
const env = {};
while (argv.length && argv[0] !== '--') {
  const flag = argv.shift();
  const value = argv.shift();
  if (flag === '--dir') {
    const [host, guest] = value.split(':');
    preopens[guest ?? host] = host;
  } else if (flag === '--env') {
    const at = value.indexOf('=');
    env[value.slice(0, at)] = value.slice(at + 1);
  } else {
    console.error(`run.mjs: unknown flag ${flag}`);
    process.exit(2);
  }
}
argv.shift(); // --

// Silence Node's "WASI is experimental" warning: the log lines on stdout must stay clean.
process.removeAllListeners('warning');
const wasi = new WASI({ version: 'preview1', args: ['tidemark', ...argv], env, preopens, returnOnExit: true });
const compiled = await WebAssembly.compile(await readFile(module));
const instance = await WebAssembly.instantiate(compiled, wasi.getImportObject());
const code = wasi.start(instance);
process.exitCode = code;

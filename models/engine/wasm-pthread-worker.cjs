// The pthread worker of @tensorflow/tfjs-backend-wasm's threaded build, made to start under Node's
// worker_threads (see wasm-setup.ts for why the package cannot start it itself).
//
// The package hands emscripten its worker script and its main script as Blobs (blob: URLs), which a Node
// worker can neither start from nor read (tfjs issue #3830). This file is the worker instead: it runs the
// package's own worker code, and answers the one blob: URL that code asks for (the main script, which
// reaches us as a cloned plain object) with the package's main script file.
'use strict';
const path = require('node:path');

const wasmOut = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
const mainScript = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
URL.createObjectURL = () => mainScript;
URL.revokeObjectURL = () => {};

const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js'));
// The worker code expects CommonJS globals, and runs in the global scope as the package's Blob would.
global.require = require;
global.__filename = __filename;
// Its template literal turned the code's "\n" escapes into raw newlines; the package re-escapes them too.
(0, eval)(wasmWorkerContents.replace(/\n/g, '\\n'));

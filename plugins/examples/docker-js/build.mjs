// Builds plugin.wasm from src/plugin.js: `node build.mjs` (alca-plugin.toml's
// [build] runs it after `npm ci`).
//
// componentize() embeds the StarlingMonkey JavaScript engine, evaluates the
// module once (Wizer snapshots the result) and wraps it as a component of the
// world `runtime-plugin` described in wit/. (The `jco componentize` CLI does
// the same, but its sandboxed wasm-tools cannot read the WIT directory.)

import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { componentize } from '@bytecodealliance/componentize-js';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

const { component } = await componentize({
  sourcePath: here('src/plugin.js'),
  witPath: here('wit'),
  worldName: 'runtime-plugin',
});
await writeFile(here('plugin.wasm'), component);
console.log(`plugin.wasm: ${component.length} bytes`);

// An alca runtime plugin for Docker, in JavaScript: the entry module that
// build.mjs turns into plugin.wasm, implementing the world `runtime-plugin`
// of wit/runtime.wit (alca:runtime@0.1.0).
//
// The plugin is a translator: alca's runtime-neutral requests in, `docker`
// invocations out (through the host's `process.run`, checked against
// alca-plugin.toml), parsed CLI output back. It has no filesystem, network
// or environment of its own.
//
// How the WIT maps to JavaScript (componentize-js):
//   - an imported interface is a module: `import { run } from 'alca:runtime/process@0.1.0'`;
//   - the exported interface `runtime` is an exported object of functions,
//     kebab-case names in camelCase (`list-containers` -> `listContainers`);
//   - records are plain objects with camelCase fields, enums are strings
//     (`'running'`), variants are `{ tag, val }`, `option<T>` is the value or
//     undefined, `list<u8>` a Uint8Array, `u64` a BigInt, flags an object of
//     booleans;
//   - `result<T, E>`: return T; throw a value with a `payload` property to
//     return the error E (errors.js). An import returning a result throws the
//     same way.

import { run, locate } from 'alca:runtime/process@0.1.0';

import { createArgs, execArgs, listArgs } from './argv.js';
import { RuntimeError, classify, commandFailure, describeFailure, fromSpawnError } from './errors.js';
import { matches, parseInspect, parseVersion } from './parse.js';

/** Who this plugin is: `id` must equal the manifest's `id`; keep `version` equal to its `version`. */
const PLUGIN = {
  id: 'docker-js',
  name: 'Docker (JavaScript)',
  version: '0.1.0',
  /** Which runtime it drives. */
  runtime: 'docker',
  /** The program it runs: a `[[programs]]` name of the manifest, never a path. */
  program: 'docker',
  /** The engine's name in messages. */
  engineName: 'Docker',
  /** What to tell a user whose engine does not answer. */
  notRunningHint:
    'start the Docker engine (Linux: `sudo systemctl start docker`; macOS: open Docker Desktop or OrbStack), or set runtime = "podman" in .alca.toml',
  /** What to tell a user who does not have the CLI at all. */
  installHint: 'install Docker (https://docs.docker.com/engine/install/), or set runtime = "podman" in .alca.toml',
};

// How long a call may wait for the CLI (the host clamps these to the grant's
// `max-timeout-secs`). An engine that does not answer `version` within
// PROBE is as good as absent.
const PROBE_TIMEOUT_MS = 20_000;
const QUICK_TIMEOUT_MS = 60_000;
const CREATE_TIMEOUT_MS = 120_000;
/** Extra time for `stop` beyond the grace period it asks the engine for. */
const STOP_SLACK_MS = 30_000;
const U32_MAX = 2 ** 32 - 1;

const utf8 = new TextDecoder();

/**
 * Runs `docker <args>` through the host and returns its `run-output`, whatever
 * the exit code. A refused or failed spawn throws a RuntimeError.
 */
function docker(args, { timeoutMs, showOutput = false } = {}) {
  const mode = showOutput ? 'to-user' : 'capture';
  try {
    return run({ program: PLUGIN.program, args, env: [], stdin: undefined, timeoutMs, stdout: mode, stderr: mode });
  } catch (e) {
    if (e?.payload?.tag === undefined) throw e; // not a spawn-error: a bug
    throw fromSpawnError(e.payload);
  }
}

/** The failure of a run, as the contract's typed error. */
function failed(args, out) {
  return classify(PLUGIN.engineName, commandFailure(PLUGIN.program, args, out));
}

/** Runs `docker <args>`; a non-zero exit throws the classified error. */
function dockerOk(args, options) {
  const out = docker(args, options);
  if (out.exitCode !== 0) throw failed(args, out);
  return out;
}

/** The message of an error, for an `availability` reason. */
function errorText(err) {
  const { tag, val } = err.payload;
  return tag === 'command-failed' ? describeFailure(val) : val;
}

/** Inspects several containers; one that vanished since it was listed is skipped. */
function inspectMany(ids) {
  if (ids.length === 0) return [];
  const args = ['container', 'inspect', '--', ...ids];
  const out = docker(args, { timeoutMs: QUICK_TIMEOUT_MS });
  // A container can vanish between `ls` and `inspect`: the engine then
  // prints the others and exits non-zero. Keep what it printed.
  let infos;
  try {
    infos = parseInspect(out.stdout);
  } catch (e) {
    throw out.exitCode === 0 ? e : failed(args, out);
  }
  if (out.exitCode === 0 || infos.length > 0) return infos;
  const err = failed(args, out);
  if (err.tag === 'not-found') return [];
  throw err;
}

/** The exported interface `alca:runtime/runtime`. */
export const runtime = {
  info() {
    return {
      id: PLUGIN.id,
      name: PLUGIN.name,
      runtime: PLUGIN.runtime,
      version: PLUGIN.version,
      // What docker can express beyond the basics: all of it.
      features: {
        ports: true,
        resourceLimits: true,
        capabilities: true,
        restartPolicy: true,
        namedNetworks: true,
        volumes: true,
        tmpfs: true,
        init: true,
      },
    };
  },

  // Never throws: every failure is described in the `availability` record.
  detect() {
    const unavailable = (reason, hint) => ({ available: false, reason, hint });
    if (locate(PLUGIN.program) == null) {
      return unavailable(`\`${PLUGIN.program}\` was not found on PATH`, PLUGIN.installHint);
    }
    const args = ['version', '--format', '{{json .}}'];
    let out;
    try {
      out = docker(args, { timeoutMs: PROBE_TIMEOUT_MS });
    } catch (e) {
      if (e.tag === 'timed-out') {
        return unavailable(`\`${PLUGIN.program} version\` did not answer`, PLUGIN.notRunningHint);
      }
      return unavailable(errorText(e), PLUGIN.installHint);
    }
    let version;
    try {
      version = parseVersion(out.stdout);
    } catch {
      // Not JSON: classified below like any other failure.
    }
    if (out.exitCode === 0 && version !== undefined) return { available: true, version };
    const err = failed(args, out);
    return unavailable(err.tag === 'not-available' ? err.payload.val : errorText(err), PLUGIN.notRunningHint);
  },

  imageExists(image) {
    try {
      dockerOk(['image', 'inspect', '--format', '{{.Id}}', '--', image], { timeoutMs: QUICK_TIMEOUT_MS });
      return true;
    } catch (e) {
      if (e.tag === 'not-found') return false;
      throw e;
    }
  },

  imagePull(image) {
    // Progress goes to the user. No timeout of our own: the grant's maximum
    // bounds a pull.
    dockerOk(['image', 'pull', '--', image], { showOutput: true });
  },

  create(spec) {
    try {
      const out = dockerOk(createArgs(spec, PLUGIN.engineName), { timeoutMs: CREATE_TIMEOUT_MS });
      // docker prints the new container's full id; alca keeps it.
      const id = utf8.decode(out.stdout).trim().split('\n').pop().trim();
      if (id === '') throw new RuntimeError('parse', `\`${PLUGIN.program} container create\` printed no container id`);
      return id;
    } catch (e) {
      if (e.tag === 'timed-out') {
        // Killing the CLI does not stop the engine: remove what it may have
        // created, so the next attempt does not hit a name conflict.
        try {
          runtime.remove(spec.name, true);
        } catch {
          // The timeout is the error to report.
        }
      }
      throw e;
    }
  },

  start(id) {
    dockerOk(['container', 'start', '--', id], { timeoutMs: QUICK_TIMEOUT_MS });
  },

  // Stopping a stopped container succeeds (docker says so itself).
  stop(id, graceSecs) {
    const args = ['container', 'stop'];
    let timeoutMs = QUICK_TIMEOUT_MS;
    if (graceSecs != null) {
      args.push('--time', String(graceSecs));
      // `timeout-ms` is a u32: keep the value in its range.
      timeoutMs = Math.min(graceSecs * 1000 + STOP_SLACK_MS, U32_MAX);
    }
    args.push('--', id);
    dockerOk(args, { timeoutMs });
  },

  // Removing a container that does not exist succeeds.
  remove(id, force) {
    const args = ['container', 'rm', ...(force ? ['--force'] : []), '--', id];
    try {
      dockerOk(args, { timeoutMs: QUICK_TIMEOUT_MS });
    } catch (e) {
      if (e.tag !== 'not-found') throw e;
    }
  },

  // undefined (`none`) when the container does not exist.
  inspect(id) {
    let out;
    try {
      out = dockerOk(['container', 'inspect', '--', id], { timeoutMs: QUICK_TIMEOUT_MS });
    } catch (e) {
      if (e.tag === 'not-found') return undefined;
      throw e;
    }
    return parseInspect(out.stdout)[0];
  },

  listContainers(selector, includeStopped) {
    const out = dockerOk(listArgs(selector, includeStopped), { timeoutMs: QUICK_TIMEOUT_MS });
    const ids = utf8
      .decode(out.stdout)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    // The engine already filtered; check again, so that an engine quirk can
    // never hand alca a container it did not ask for.
    return inspectMany(ids).filter((info) => matches(info, selector));
  },

  exec(req) {
    const args = execArgs(req);
    const out = docker(args);
    // 125/126/127 with an engine error means the engine, not the command,
    // failed (container gone or stopped, executable missing).
    if (out.exitCode >= 125 && out.exitCode <= 127) {
      const err = failed(args, out);
      if (err.tag !== 'command-failed') throw err;
    }
    if (out.exitCode == null) {
      throw new RuntimeError('command-failed', commandFailure(PLUGIN.program, args, out));
    }
    return { exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr, truncated: out.truncated };
  },

  // alca checks the plan against a rule with `interactive = true` and runs it
  // on the user's terminal; the plugin never sees the terminal.
  execPlan(req) {
    return { program: PLUGIN.program, args: execArgs(req), env: [] };
  },
};

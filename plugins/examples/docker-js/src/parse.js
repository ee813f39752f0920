// Parsing what the docker CLI prints as JSON. Lenient about types that differ
// between engines and versions, strict about what alca needs. Pure functions:
// `node --test` runs them on the host.

import { RuntimeError } from './errors.js';

const utf8 = new TextDecoder();

/**
 * The engine's version from `docker version --format '{{json .}}'`, or
 * undefined when the daemon did not answer (docker then prints `"Server": null`).
 *
 * @param {Uint8Array} stdout
 */
export function parseVersion(stdout) {
  let v;
  try {
    v = JSON.parse(utf8.decode(stdout));
  } catch (e) {
    throw new RuntimeError('parse', `\`version\` output is not JSON: ${e.message}`);
  }
  const version = v?.Server?.Version;
  return typeof version === 'string' ? version : undefined;
}

/**
 * The `container-info` records of `docker container inspect` (a JSON array).
 *
 * @param {Uint8Array} stdout
 */
export function parseInspect(stdout) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(stdout);
  } catch {
    throw new RuntimeError('parse', '`container inspect` printed invalid UTF-8');
  }
  if (text.trim() === '') return [];
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RuntimeError('parse', `\`container inspect\` output is not JSON: ${e.message}`);
  }
  if (!Array.isArray(v)) throw new RuntimeError('parse', '`container inspect` did not print a JSON array');
  return v.map(containerInfo);
}

/** `x` if it is a JSON object (not an array), else an empty one. */
function object(x) {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? x : {};
}

/** A non-empty string at `obj.path...`, or undefined. */
function str(obj, ...path) {
  for (const key of path) obj = obj?.[key];
  return typeof obj === 'string' && obj !== '' ? obj : undefined;
}

function containerInfo(v) {
  const id = str(v, 'Id');
  if (id === undefined) throw new RuntimeError('parse', 'an inspected container has no `Id`');
  const exitCode = v?.State?.ExitCode;
  const labels = Object.entries(object(v?.Config?.Labels))
    .filter(([, value]) => typeof value === 'string')
    .map(([key, value]) => ({ key, value }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const ipAddresses = [];
  for (const net of Object.values(object(v?.NetworkSettings?.Networks))) {
    for (const key of ['IPAddress', 'GlobalIPv6Address']) {
      const ip = str(net, key);
      if (ip !== undefined) ipAddresses.push(ip);
    }
  }
  const startedAt = str(v, 'State', 'StartedAt');
  // A record is a plain object with the WIT field names in camelCase; an
  // `option` field may be left undefined.
  return {
    id,
    name: (str(v, 'Name') ?? '').replace(/^\/+/, ''),
    image: str(v, 'Config', 'Image') ?? str(v, 'ImageName') ?? '',
    state: stateFrom(str(v, 'State', 'Status') ?? ''),
    labels,
    exitCode: Number.isInteger(exitCode) && exitCode >= -(2 ** 31) && exitCode < 2 ** 31 ? exitCode : undefined,
    createdAt: str(v, 'Created'),
    // docker reports the zero time for a container that never started.
    startedAt: startedAt?.startsWith('0001-01-01') ? undefined : startedAt,
    ipAddresses,
  };
}

/** The engine's state name as a `container-state` (an enum: its case name). */
export function stateFrom(status) {
  const s = status.toLowerCase();
  switch (s) {
    case 'created':
    case 'configured':
    case 'initialized':
      return 'created';
    case 'running':
    case 'paused':
    case 'restarting':
    case 'removing':
    case 'dead':
      return s;
    case 'exited':
    case 'stopped':
      return 'exited';
    default:
      return 'unknown';
  }
}

/** Does the `container-info` carry every label the selector asks for? */
export function matches(info, selector) {
  return selector.every((sel) =>
    info.labels.some((kv) => kv.key === sel.key && (sel.value == null || sel.value === kv.value)),
  );
}

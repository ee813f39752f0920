// The docker CLI's argument vectors. Pure functions: they are what the host's
// grant check sees, and `node --test` runs them on the host.
//
// Every invocation puts `--` before its operands (container id, image,
// command), so nothing alca passes through (a user's command line, an image
// name) can ever be read as an option. Each shape here matches one `allow`
// rule of alca-plugin.toml; change both together.

import { RuntimeError } from './errors.js';

/**
 * `container create` for a `container-spec`, with the image and the command
 * after `--`. A field docker cannot express is an `invalid-spec` error, never
 * silently dropped.
 *
 * @param {object} spec the `container-spec` record (camelCase fields)
 * @param {string} engineName for messages (`Docker`)
 */
export function createArgs(spec, engineName) {
  const a = ['container', 'create'];
  const opt = (flag, value) => a.push(flag, value);

  opt('--name', spec.name);
  for (const { key, value } of spec.labels) opt('--label', `${key}=${value}`);
  for (const { key, value } of spec.env) {
    if (key === '' || key.includes('=')) {
      throw new RuntimeError('invalid-spec', `environment variable name ${JSON.stringify(key)} is empty or contains \`=\``);
    }
    opt('--env', `${key}=${value}`);
  }
  // An `option<T>` arrives as the value, or as undefined for `none`.
  if (spec.workdir != null) opt('--workdir', spec.workdir);
  if (spec.user != null) opt('--user', spec.user);

  // docker's --entrypoint takes one program; its other elements go first in
  // the command.
  let commandPrefix = [];
  if (spec.entrypoint != null) {
    if (spec.entrypoint.length === 0) {
      throw new RuntimeError('invalid-spec', 'an entrypoint override must name a program');
    }
    opt('--entrypoint', spec.entrypoint[0]);
    commandPrefix = spec.entrypoint.slice(1);
  }

  for (const m of spec.mounts) {
    if (m.target.includes(':') || m.target.includes(',')) {
      throw new RuntimeError(
        'invalid-spec',
        `mount target ${JSON.stringify(m.target)} contains \`:\` or \`,\`, which ${engineName} cannot express`,
      );
    }
    switch (m.kind) { // an `enum` arrives as its case name
      case 'bind':
      case 'volume':
        if (m.source.includes(':')) {
          throw new RuntimeError(
            'invalid-spec',
            `mount source ${JSON.stringify(m.source)} contains \`:\`, which ${engineName} cannot express in a volume spec`,
          );
        }
        opt('--volume', `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`);
        break;
      case 'tmpfs':
        opt('--tmpfs', `${m.target}${m.readOnly ? ':ro' : ''}`);
        break;
    }
  }

  for (const p of spec.ports) {
    const hostPort = p.hostPort ?? p.containerPort;
    let v = `${hostPort}:${p.containerPort}`;
    if (p.hostIp != null) v = `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${v}`;
    if (p.protocol === 'udp') v += '/udp';
    opt('--publish', v);
  }

  const { cpus, memoryBytes } = spec.resources;
  if (cpus != null) {
    if (!(Number.isFinite(cpus) && cpus > 0)) {
      throw new RuntimeError('invalid-spec', `cpus must be positive, got ${cpus}`);
    }
    opt('--cpus', String(cpus));
  }
  // A `u64` arrives as a BigInt; `${}` prints it without the `n`.
  if (memoryBytes != null) opt('--memory', `${memoryBytes}b`);

  for (const cap of spec.capabilities.drop) opt('--cap-drop', cap);
  for (const cap of spec.capabilities.add) opt('--cap-add', cap);

  if (spec.restart === 'unless-stopped') opt('--restart', 'unless-stopped');

  // A `variant` arrives as `{ tag, val }` (`val` only for cases with a payload).
  switch (spec.network.tag) {
    case 'default':
      break;
    case 'none':
      opt('--network', 'none');
      break;
    case 'named':
      opt('--network', spec.network.val);
      break;
  }

  if (spec.init) a.push('--init');
  // alca checks for the image and pulls it itself (visibly, with its own
  // timeout): `create` must never start a hidden pull.
  a.push('--pull=never');
  a.push('--', spec.image, ...commandPrefix, ...spec.command);
  return a;
}

/** `container exec` for an `exec-request`, with the container and the command after `--`. */
export function execArgs(req) {
  const a = ['container', 'exec'];
  if (req.interactive) a.push('--interactive');
  if (req.tty) a.push('--tty');
  if (req.user != null) a.push('--user', req.user);
  if (req.workdir != null) a.push('--workdir', req.workdir);
  for (const { key, value } of req.env) a.push('--env', `${key}=${value}`);
  a.push('--', req.container, ...req.argv);
  return a;
}

/** `container ls` printing the full ids of the containers matching every `label-selector`. */
export function listArgs(selector, includeStopped) {
  const a = ['container', 'ls', '--quiet', '--no-trunc'];
  if (includeStopped) a.push('--all');
  for (const s of selector) a.push('--filter', s.value != null ? `label=${s.key}=${s.value}` : `label=${s.key}`);
  return a;
}

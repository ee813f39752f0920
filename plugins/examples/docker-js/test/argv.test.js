// Unit tests of the argument vectors, on the host: `npm test` (node --test).
// The records are built the way componentize-js hands them to the plugin.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createArgs, execArgs, listArgs } from '../src/argv.js';

function spec() {
  return {
    name: 'alca-123',
    image: 'img:1',
    labels: [{ key: 'alca.project.id', value: 'u-1' }],
    env: [{ key: 'A', value: 'x=y' }],
    mounts: [
      { kind: 'bind', source: '/p', target: '/workspace', readOnly: false },
      { kind: 'bind', source: '/ssh', target: '/root/.ssh', readOnly: true },
      { kind: 'tmpfs', source: '', target: '/scratch', readOnly: false },
    ],
    ports: [
      { hostIp: undefined, hostPort: undefined, containerPort: 80, protocol: 'tcp' },
      { hostIp: '::1', hostPort: 53, containerPort: 5353, protocol: 'udp' },
    ],
    workdir: '/workspace',
    user: undefined,
    entrypoint: undefined,
    command: ['sh', '-c', 'sleep 1'],
    resources: { cpus: 1.5, memoryBytes: 1n << 30n },
    capabilities: { drop: ['ALL'], add: ['CHOWN'] },
    restart: 'unless-stopped',
    network: { tag: 'default' },
    init: false,
  };
}

const invalidSpec = (e) => e.payload?.tag === 'invalid-spec';

test('create puts every option before `--` and the image and command after it', () => {
  assert.deepEqual(createArgs(spec(), 'Docker'), [
    'container', 'create',
    '--name', 'alca-123',
    '--label', 'alca.project.id=u-1',
    '--env', 'A=x=y',
    '--workdir', '/workspace',
    '--volume', '/p:/workspace',
    '--volume', '/ssh:/root/.ssh:ro',
    '--tmpfs', '/scratch',
    '--publish', '80:80',
    '--publish', '[::1]:53:5353/udp',
    '--cpus', '1.5',
    '--memory', '1073741824b',
    '--cap-drop', 'ALL',
    '--cap-add', 'CHOWN',
    '--restart', 'unless-stopped',
    '--pull=never',
    '--', 'img:1', 'sh', '-c', 'sleep 1',
  ]);
});

test('create: entrypoint, network and init; what docker cannot express is refused', () => {
  const a = createArgs({ ...spec(), entrypoint: ['/bin/tini', '--'], network: { tag: 'none' }, init: true }, 'Docker');
  const dd = a.indexOf('--');
  assert.deepEqual(a.slice(dd + 1, dd + 4), ['img:1', '--', 'sh']);
  assert.equal(a[a.indexOf('--entrypoint') + 1], '/bin/tini');
  assert.equal(a[a.indexOf('--network') + 1], 'none');
  assert.ok(a.includes('--init'));
  const named = createArgs({ ...spec(), network: { tag: 'named', val: 'dev' } }, 'Docker');
  assert.equal(named[named.indexOf('--network') + 1], 'dev');

  const bad = spec();
  bad.mounts[1].source = '/with:colon';
  assert.throws(() => createArgs(bad, 'Docker'), invalidSpec);
  assert.throws(() => createArgs({ ...spec(), env: [{ key: '', value: 'x' }] }, 'Docker'), invalidSpec);
  assert.throws(() => createArgs({ ...spec(), resources: { cpus: 0 } }, 'Docker'), invalidSpec);
  assert.throws(() => createArgs({ ...spec(), entrypoint: [] }, 'Docker'), invalidSpec);
});

test('create uses long options only (the manifest names only those)', () => {
  const a = createArgs(spec(), 'Docker');
  for (const arg of a.slice(2, a.indexOf('--'))) assert.ok(!/^-[^-]/.test(arg), `short option ${arg}`);
});

test('exec and list', () => {
  const req = {
    container: 'c1',
    argv: ['grep', '--privileged', 'x'],
    tty: true,
    interactive: true,
    user: '1000',
    workdir: '/w',
    env: [{ key: 'TERM', value: 'xterm' }],
  };
  assert.deepEqual(execArgs(req), [
    'container', 'exec', '--interactive', '--tty', '--user', '1000', '--workdir', '/w', '--env', 'TERM=xterm',
    '--', 'c1', 'grep', '--privileged', 'x',
  ]);
  const selector = [{ key: 'a', value: 'b' }, { key: 'c', value: undefined }];
  assert.deepEqual(listArgs(selector, true), [
    'container', 'ls', '--quiet', '--no-trunc', '--all', '--filter', 'label=a=b', '--filter', 'label=c',
  ]);
  assert.deepEqual(listArgs([], false), ['container', 'ls', '--quiet', '--no-trunc']);
});

// Unit tests of the error mapping, on the host: `npm test` (node --test).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { classify, fromSpawnError } from '../src/errors.js';

const failure = (stderrTail) => ({ program: 'docker', args: [], exitCode: 1, stderrTail });

test('engine messages become typed errors', () => {
  const cases = [
    ['Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', 'not-available'],
    ['Cannot connect to Podman. Please verify your connection to the Linux system', 'not-available'],
    ['Error response from daemon: No such container: x', 'not-found'],
    ['Error: no container with name or ID "x" found: no such container', 'not-found'],
    ['error: no such object: x', 'not-found'],
    ['Error response from daemon: No such image: x:latest', 'not-found'],
    ['Error response from daemon: Conflict. The container name "/foo" is already in use by container "abc".', 'conflict'],
    ['Error: can only create exec sessions on running containers: container state improper', 'conflict'],
    ['Error response from daemon: something else broke', 'command-failed'],
  ];
  for (const [stderr, tag] of cases) assert.equal(classify('Docker', failure(stderr)).payload.tag, tag, stderr);

  assert.deepEqual(classify('Docker', failure('x\nNo such container: c\n')).payload, {
    tag: 'not-found',
    val: 'No such container: c',
  });
  assert.deepEqual(classify('Docker', failure('weird\nlast words')).payload.val, failure('weird\nlast words'));
});

test('spawn errors of process.run', () => {
  assert.deepEqual(fromSpawnError({ tag: 'denied', val: 'no rule' }).payload, { tag: 'denied', val: 'no rule' });
  assert.equal(fromSpawnError({ tag: 'program-not-found', val: 'docker' }).payload.tag, 'not-available');
  const out = { exitCode: undefined, stdout: new Uint8Array(), stderr: new TextEncoder().encode('slow\n'), truncated: false, durationMs: 20000 };
  assert.deepEqual(fromSpawnError({ tag: 'timed-out', val: out }).payload, {
    tag: 'timed-out',
    val: 'the command ran out of time after 20000 ms; it had printed: slow',
  });
});

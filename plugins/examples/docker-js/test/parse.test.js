// Unit tests of the JSON parsing, on the host: `npm test` (node --test).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { matches, parseInspect, parseVersion } from '../src/parse.js';

const bytes = (s) => new TextEncoder().encode(s);
const parseError = (e) => e.payload?.tag === 'parse';

const DOCKER_INSPECT = `[{"Id":"abc123","Created":"2026-11-29T01:00:00.1Z","Name":"/alca-1","State":{"Status":"running","Running":true,"ExitCode":0,"StartedAt":"2026-11-29T01:00:01Z","FinishedAt":"0001-01-01T00:00:00Z"},"Config":{"Image":"img:1","Labels":{"b":"2","alca.project.id":"u-1"}},"NetworkSettings":{"Networks":{"bridge":{"IPAddress":"172.17.0.2","GlobalIPv6Address":""}}}}]`;

// podman 4: Name without slash, Config.Labels may be null, State "stopped".
const PODMAN_INSPECT = `[{"Id":"def456","Created":"2026-11-29T01:00:00Z","Name":"alca-2","ImageName":"localhost/img:1","State":{"Status":"stopped","ExitCode":137,"StartedAt":"0001-01-01T00:00:00Z"},"Config":{"Labels":null,"Entrypoint":"sh"},"NetworkSettings":{"Networks":{}}}]`;

test('container inspect, as docker and podman print it', () => {
  const [d] = parseInspect(bytes(DOCKER_INSPECT));
  assert.deepEqual(d, {
    id: 'abc123',
    name: 'alca-1',
    image: 'img:1',
    state: 'running',
    labels: [{ key: 'alca.project.id', value: 'u-1' }, { key: 'b', value: '2' }],
    exitCode: 0,
    createdAt: '2026-11-29T01:00:00.1Z',
    startedAt: '2026-11-29T01:00:01Z',
    ipAddresses: ['172.17.0.2'],
  });
  assert.ok(matches(d, [{ key: 'alca.project.id', value: 'u-1' }, { key: 'b' }]));
  assert.ok(!matches(d, [{ key: 'alca.project.id', value: 'u-2' }]));

  const [p] = parseInspect(bytes(PODMAN_INSPECT));
  assert.equal(p.name, 'alca-2');
  assert.equal(p.image, 'localhost/img:1');
  assert.equal(p.state, 'exited');
  assert.equal(p.exitCode, 137);
  assert.deepEqual(p.labels, []);
  assert.equal(p.startedAt, undefined);

  assert.deepEqual(parseInspect(bytes('')), []);
  assert.deepEqual(parseInspect(bytes('[]')), []);
  assert.throws(() => parseInspect(bytes('{"Id":1}')), parseError);
  assert.throws(() => parseInspect(bytes('[{"Name":"x"}]')), parseError);
  assert.throws(() => parseInspect(bytes('[1, null]')), parseError);
  assert.throws(() => parseInspect(new Uint8Array([0x5b, 0xff, 0x5d])), parseError);
});

test('docker version: the server version, or none when the daemon is down', () => {
  assert.equal(parseVersion(bytes('{"Client":{"Version":"28.2.2"},"Server":{"Version":"20.10.24"}}')), '20.10.24');
  assert.equal(parseVersion(bytes('{"Client":{"Version":"28.2.2"},"Server":null}')), undefined);
  assert.throws(() => parseVersion(bytes('garbage')), parseError);
});

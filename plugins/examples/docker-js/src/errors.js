// The contract's typed errors, and how the CLI's failures map onto them.
// Pure functions (no host imports): `node --test` runs them on the host.

/**
 * A `runtime-error` of the contract (`{ tag, val }`).
 *
 * An exported function whose WIT result is `result<T, runtime-error>` returns
 * T, or throws: componentize-js hands alca the thrown value's own `payload`
 * property as the error. (A thrown Error *without* `payload`, such as a
 * TypeError from a bug, is not an error alca can read: it traps, and alca
 * reports that the plugin crashed in that function.)
 */
export class RuntimeError extends Error {
  /**
   * @param {string} tag one of `not-available`, `not-found`, `conflict`,
   *   `invalid-spec`, `unsupported`, `denied`, `command-failed`, `timed-out`,
   *   `parse`
   * @param {string | object} val a string, or a `command-failure` record for
   *   `command-failed`
   */
  constructor(tag, val) {
    super(`${tag}: ${typeof val === 'string' ? val : describeFailure(val)}`);
    this.payload = { tag, val };
  }

  get tag() {
    return this.payload.tag;
  }
}

/** How much of stderr goes into a `command-failure`. */
const STDERR_TAIL_BYTES = 4096;

const utf8 = new TextDecoder(); // lossy: invalid bytes become U+FFFD

/** The last `max` bytes of `bytes`, decoded and trimmed. */
export function tail(bytes, max) {
  return utf8.decode(bytes.subarray(Math.max(0, bytes.length - max))).trim();
}

/** The `command-failure` record for a finished run of `program args`. */
export function commandFailure(program, args, out) {
  return { program, args, exitCode: out.exitCode, stderrTail: tail(out.stderr, STDERR_TAIL_BYTES) };
}

/** "`docker container start -- x` failed with exit code 1: <stderr>" */
export function describeFailure(f) {
  let s = `\`${f.program} ${f.args.join(' ')}\` failed`;
  s += f.exitCode == null ? ' (killed by a signal)' : ` with exit code ${f.exitCode}`;
  return f.stderrTail ? `${s}: ${f.stderrTail}` : s;
}

/**
 * The `process.run` import throws when it does not run the program at all;
 * the thrown value's `payload` is a `spawn-error`. The program's absence is
 * the runtime's absence; a denial stays a denial, so alca can show the grant.
 */
export function fromSpawnError(spawnError) {
  switch (spawnError.tag) {
    case 'denied':
      return new RuntimeError('denied', spawnError.val);
    case 'timed-out': {
      const out = spawnError.val; // what the program printed before it was killed
      const printed = tail(out.stderr, 512);
      return new RuntimeError(
        'timed-out',
        `the command ran out of time after ${out.durationMs} ms${printed ? `; it had printed: ${printed}` : ''}`,
      );
    }
    default: // `program-not-found`, `io`
      return new RuntimeError('not-available', spawnError.val);
  }
}

// What docker prints, lower-cased (container-cli-contracts §2.5). Keep the
// podman texts too: the same code then serves any docker-compatible CLI.

/** The engine is unreachable: the daemon (docker) or the machine (podman). */
const NOT_AVAILABLE = [
  'cannot connect to the docker daemon',
  'is the docker daemon running',
  'permission denied while trying to connect to the docker daemon',
  'cannot connect to podman',
  'unable to connect to podman socket',
  'error during connect',
];

/** The object does not exist. */
const NOT_FOUND = [
  'no such container',
  'no such object',
  'no such image',
  'image not known',
  'no container with name or id',
  'failed to find image',
];

/** The name is taken, or the container is in the wrong state for the operation. */
const CONFLICT = ['is already in use', 'container state improper', 'is not running', 'is paused', 'is restarting'];

/**
 * A failed CLI invocation as the contract's typed error. Anything not
 * recognised stays `command-failed` with the stderr tail, so the user still
 * sees what the engine said.
 *
 * @param {string} engineName for messages (`Docker`)
 * @param {object} failure a `command-failure` record
 */
export function classify(engineName, failure) {
  const text = failure.stderrTail.toLowerCase();
  const lastLine = () =>
    failure.stderrTail
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .pop() ?? '';
  if (NOT_AVAILABLE.some((m) => text.includes(m))) {
    return new RuntimeError('not-available', `the ${engineName} engine is not reachable: ${lastLine()}`);
  }
  if (NOT_FOUND.some((m) => text.includes(m))) return new RuntimeError('not-found', lastLine());
  if (CONFLICT.some((m) => text.includes(m))) return new RuntimeError('conflict', lastLine());
  return new RuntimeError('command-failed', failure);
}

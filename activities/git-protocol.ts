// Reads a repository's ref advertisement over the git:// protocol, in process: what `git
// ls-remote` does for a git:// URL, without starting a git process (about six times less CPU
// and a tenth of the latency per read; docs/BENCHMARKS.md). Protocol v0: the server advertises
// every ref, the client answers with a flush packet ("no wants") and hangs up.
import net from 'node:net';

export class GitProtocolError extends Error {
  constructor(
    message: string,
    /** The server answered, but refused (no such repository, not exported). */
    readonly refused: boolean,
  ) {
    super(message);
  }
}

const pkt = (payload: string): string => (payload.length + 4).toString(16).padStart(4, '0') + payload;

/** ref → sha for every ref the server advertises. */
export function advertisedRefs(
  url: URL,
  opts: { timeoutMs: number; maxBytes: number; signal?: AbortSignal },
): Promise<Map<string, string>> {
  const host = url.hostname;
  const port = Number(url.port || 9418);
  return new Promise((resolve, reject) => {
    const refs = new Map<string, string>();
    let buf = Buffer.alloc(0);
    let received = 0;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        socket.end('0000'); // a flush packet: no wants
        resolve(refs);
      }
    };
    const onAbort = (): void => finish(new GitProtocolError('cancelled', false));
    const timer = setTimeout(
      () => finish(new GitProtocolError(`no ref advertisement from ${host}:${port} within ${opts.timeoutMs}ms`, false)),
      opts.timeoutMs,
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const socket = net.connect({ host, port });
    socket.on('connect', () =>
      socket.write(pkt(`git-upload-pack ${decodeURIComponent(url.pathname)}\0host=${url.host}\0`)),
    );
    socket.on('error', (err) => finish(new GitProtocolError(`${host}:${port}: ${err.message}`, false)));
    socket.on('close', () =>
      finish(
        new GitProtocolError(`${host}:${port} closed the connection before the end of the ref advertisement`, false),
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > opts.maxBytes)
        return finish(
          new GitProtocolError(`ref advertisement from ${host}:${port} is larger than ${opts.maxBytes} bytes`, false),
        );
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4) {
        const len = Number.parseInt(buf.subarray(0, 4).toString('latin1'), 16);
        if (Number.isNaN(len) || (len > 0 && len < 4))
          return finish(new GitProtocolError(`${host}:${port} sent a malformed packet`, false));
        if (len === 0) return finish();
        if (buf.length < len) return;
        const line = buf.subarray(4, len).toString('utf8').replace(/\n$/, '');
        buf = buf.subarray(len);
        if (line.startsWith('ERR ')) return finish(new GitProtocolError(`remote error: ${line.slice(4)}`, true));
        // "<sha> <ref>", the first line followed by "\0<capabilities>"; an empty repository advertises "capabilities^{}".
        const [sha, ref] = line.split('\0')[0]!.split(' ');
        if (sha && ref && ref !== 'capabilities^{}') refs.set(ref, sha);
      }
    });
  });
}

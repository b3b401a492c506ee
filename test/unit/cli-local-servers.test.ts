import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findOnPath } from '../../src/cli/core/local-servers';
import { freePort, hostPort, tcpAnswers } from '../../src/util/net';

describe('local servers', () => {
  it('reads host and port from nats://, redis:// and bare addresses', () => {
    expect(hostPort('nats://127.0.0.1:4222', 1)).toEqual({ host: '127.0.0.1', port: 4222 });
    expect(hostPort('redis://:pw@cache.local:6380/2', 6379)).toEqual({ host: 'cache.local', port: 6380 });
    expect(hostPort('redis://localhost', 6379)).toEqual({ host: 'localhost', port: 6379 });
    expect(hostPort('10.0.0.5:4223', 4222)).toEqual({ host: '10.0.0.5', port: 4223 });
    expect(hostPort('nats://[::1]:4222', 1)).toEqual({ host: '::1', port: 4222 });
  });

  it('finds executables on PATH, skipping directories and files that are not executable', () => {
    const root = mkdtempSync(join(tmpdir(), 'tailslide-path-'));
    try {
      const [a, b] = [join(root, 'a'), join(root, 'b')];
      mkdirSync(a);
      mkdirSync(b);
      mkdirSync(join(a, 'nats-server')); // a directory of that name
      writeFileSync(join(b, 'redis-server'), '#!/bin/sh\n'); // not executable
      writeFileSync(join(b, 'nats-server'), '#!/bin/sh\n');
      chmodSync(join(b, 'nats-server'), 0o755);
      const path = [a, '', b].join(delimiter);
      expect(findOnPath('nats-server', path)).toBe(join(b, 'nats-server'));
      expect(findOnPath('redis-server', path)).toBeUndefined();
      expect(findOnPath('nats-server', '')).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('tells whether something listens on a port', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      expect(await tcpAnswers('127.0.0.1', port)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await tcpAnswers('127.0.0.1', await freePort())).toBe(false);
  });
});

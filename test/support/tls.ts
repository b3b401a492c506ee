/**
 * Throw-away TLS material for tests, made with the `openssl` command in a temp dir: a CA (`ca.pem`,
 * `ca.key`), optionally more CAs (`<name>.pem`), and a server certificate for 127.0.0.1 and
 * localhost signed by the first CA (`server.pem`, `server.key`). The caller removes the dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeTlsCerts(prefix: string, extraCas: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  const days = ['-days', '2'];
  for (const name of ['ca', ...extraCas]) {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      ...days,
      '-subj',
      `/CN=${name}`,
    );
  }
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    ...days,
    '-extfile',
    'ext.cnf',
  );
  return dir;
}

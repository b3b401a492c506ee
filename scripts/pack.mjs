// Runs around `npm pack` and `npm publish` (prepack / postpack / postpublish).
//
// `before`: builds dist/ (skipped with TAILSLIDE_PACK_NO_BUILD=1, for a test that has just built it),
// then drops the lifecycle scripts that need files a tarball does not hold (`prepare`, and the
// pack scripts) from package.json for the tarball. `after`: puts package.json back (postpack; for
// `npm publish`, postpublish). A package.json left stripped by a pack that died is put back by
// the next `before`, and shows in `git status` until then.
//
// Why: `prepare` must stay in the repository, because npm runs it (and only it) when the package
// is installed from a git URL, which is how dist/ gets built there. A tarball already holds dist/
// and not scripts/, so a `prepare` in its manifest names a script that is not there, and npm 11
// lists it among the install scripts a user must approve.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = join(root, 'package.json');
/** The untouched package.json while a pack runs (left behind only if npm dies mid-pack). */
const backup = join(root, '.package.json.packing');

function restore() {
  if (existsSync(backup)) renameSync(backup, manifest);
}

/**
 * Scripts only this repository can run: a tarball has no scripts/ folder. `postpublish` stays:
 * `npm publish` runs it from the package.json as it is after packing, to put the original back.
 */
const DROPPED = ['prepare', 'prepack', 'postpack'];

const mode = process.argv[2];
if (mode === 'before') {
  restore(); // a pack that died before its postpack
  if (process.env.TAILSLIDE_PACK_NO_BUILD !== '1') {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
  }
  const text = readFileSync(manifest, 'utf8');
  const pkg = JSON.parse(text);
  const dropped = DROPPED.filter((name) => pkg.scripts?.[name] !== undefined);
  if (dropped.length > 0) {
    writeFileSync(backup, text);
    for (const name of dropped) delete pkg.scripts[name];
    const temp = `${manifest}.tmp`;
    writeFileSync(temp, `${JSON.stringify(pkg, null, 2)}\n`);
    renameSync(temp, manifest);
  }
} else if (mode === 'after') {
  // `npm publish` re-reads package.json after packing to send it to the registry: keep it without
  // `prepare` until postpublish.
  const publishing = process.env.npm_command === 'publish' && process.env.npm_lifecycle_event === 'postpack';
  if (!publishing) restore();
} else {
  console.error('usage: node scripts/pack.mjs before|after');
  process.exit(1);
}

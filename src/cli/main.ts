#!/usr/bin/env node
/** Entry point of the `tailslide` command (package.json "bin"). */
import { Output } from './output';
import { runCli } from './program';

// `tailslide … | head` closes stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
});

const out = new Output(false);
void runCli(process.argv, out).then(async (code) => {
  await out.flush();
  process.exit(code);
});

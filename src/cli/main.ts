#!/usr/bin/env node
/** Entry point of the `tailslide` command (package.json "bin"). */
import { Output } from './format/output';
import { runCli } from './core/program';

// `tailslide … | head` closes stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
});

void runCli(process.argv).then(async (code) => {
  await new Output(false).flush();
  process.exit(code);
});

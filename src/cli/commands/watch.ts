/** `tailslide watch`: print every new ruleset of an app as it arrives, with what changed. */
import type { Command } from 'commander';
import { action, type CliDeps } from '../core/action';
import { watchLines, watchRecord } from '../format/watch';
import { waitForInterrupt } from '../core/interrupt';
import { appIdFlag } from '../parse/values';
import { withAdmin } from '../core/session';
import { flagSubcommand, type FlagCommandFlags } from './flag-command';

type Flags = FlagCommandFlags & { timestamps?: boolean };

export function watchCommand(deps: CliDeps): Command {
  return flagSubcommand(
    'watch',
    "print each update of the app's ruleset as it arrives, with what changed (Ctrl-C to stop)",
    ['tailslide watch --app-id 1', 'tailslide watch --app-id 1 --json | jq .diff'],
  )
    .option('--timestamps', 'also show changes of updated_at alone')
    .action(
      action<Flags>(deps, async ({ opts, out, session }) => {
        const appId = appIdFlag(opts.appId);
        await withAdmin(session, opts, out, async (admin) => {
          const interrupt = waitForInterrupt();
          try {
            // An app with no ruleset yet: its first one is news (flags added), not the starting point.
            let startsEmpty = (await admin.readRuleset(appId).catch(() => undefined)) === undefined;
            if (startsEmpty) out.note(`app ${appId} has no ruleset in stream "${admin.stream}" yet; waiting for one`);
            const stop = admin.watch(
              appId,
              (arrived) => {
                const update = startsEmpty && arrived.initial ? { ...arrived, initial: false } : arrived;
                startsEmpty = false;
                if (out.json) out.record(watchRecord(update));
                else out.lines(watchLines(update));
              },
              {
                onWaiting: (reason) => out.note(`waiting: ${reason}`),
                diff: opts.timestamps === true ? {} : { ignoreFields: ['updated_at'] },
              },
            );
            out.note(`watching app ${appId} in stream "${admin.stream}" (Ctrl-C to stop)`);
            await interrupt.done;
            await stop();
          } finally {
            interrupt.dispose();
          }
        });
      }),
    );
}

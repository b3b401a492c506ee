/** `tailslide apps`: the apps that have a ruleset in the stream. */
import { Command } from 'commander';
import { action, type CliDeps } from '../core/action';
import { clock, table } from '../format/common';
import { type JsonFlags, type NatsFlags, withJson, withNatsOptions } from '../parse/options';
import { withAdmin } from '../core/session';

interface AppRow {
  appId: number;
  flags: number | null;
  active: number | null;
  sequence: number | null;
  subject: string | null;
  time: string | null;
  error?: string;
}

export function appsCommand(deps: CliDeps): Command {
  const cmd = new Command('apps').description(
    'list the apps that have a ruleset in the stream, with their flag counts',
  );
  withNatsOptions(cmd);
  withJson(cmd);
  cmd.action(
    action<NatsFlags & JsonFlags>(deps, async ({ opts, out, session }) => {
      const rows = await withAdmin(session, opts, out, async (admin) => {
        const ids = await admin.listApps();
        const result: AppRow[] = [];
        for (const appId of ids) {
          try {
            const snapshot = await admin.readRuleset(appId);
            result.push({
              appId,
              flags: snapshot?.flags.length ?? 0,
              active: snapshot?.flags.filter((f) => f.is_active).length ?? 0,
              sequence: snapshot?.sequence ?? null,
              subject: snapshot?.subject ?? null,
              time: snapshot?.time.toISOString() ?? null,
            });
          } catch (error) {
            // One app's broken message must not hide the others.
            result.push({
              appId,
              flags: null,
              active: null,
              sequence: null,
              subject: null,
              time: null,
              error: (error as Error).message,
            });
          }
        }
        return result;
      });
      out.result(rows, () =>
        rows.length === 0
          ? ['no app has a ruleset in the stream yet (create one: tailslide flags create <title> --app-id <id>)']
          : table(
              [
                { header: 'APP', align: 'right' },
                { header: 'FLAGS', align: 'right' },
                { header: 'ACTIVE', align: 'right' },
                { header: 'RULESET' },
                { header: 'PUBLISHED' },
              ],
              rows.map((r) => [
                String(r.appId),
                r.flags === null ? '?' : String(r.flags),
                r.active === null ? '?' : String(r.active),
                r.error !== undefined ? `invalid: ${r.error}` : `#${r.sequence ?? '?'} ${r.subject ?? ''}`,
                r.time === null ? '' : `${r.time.slice(0, 10)} ${clock(new Date(r.time))}`,
              ]),
            ),
      );
    }),
  );
  return cmd;
}

/** `tailslide stream init`: create the ruleset stream, or add an app's subjects to Tower's. */
import { Command } from 'commander';
import type { EnsureStreamResult } from '../../admin/stream';
import { action } from '../action';
import { type AppFlags, type JsonFlags, type NatsFlags, withAppId, withJson, withNatsOptions } from '../options';
import { parseAppId } from '../parse';
import { withAdmin } from '../session';

type Flags = NatsFlags & AppFlags & JsonFlags;

export function streamCommand(): Command {
  const stream = new Command('stream').description('set up the JetStream stream that holds the rulesets');
  const init = new Command('init').description(
    'create the stream (subjects apps.*.update.*, file storage, full history) if it is missing; ' +
      "with --app-id on a stream created by Tower (literal subjects), add that app's two subjects",
  );
  withAppId(init, 'also make sure the stream captures this app');
  withNatsOptions(init);
  withJson(init);
  init.addHelpText(
    'after',
    '\nExamples:\n  tailslide stream init\n  tailslide stream init --app-id 7 --nats-stream flags_ruleset',
  );
  init.action(
    action<Flags>(async ({ opts, out }) => {
      const appId = opts.appId === undefined ? undefined : parseAppId(opts.appId);
      const result = await withAdmin(opts, out, (admin) => admin.ensureStream(appId === undefined ? {} : { appId }));
      out.result(result, () => streamLines(result));
      if (out.json) for (const warning of result.warnings) out.warn(warning);
    }),
  );
  return stream.addCommand(init);
}

function streamLines(result: EnsureStreamResult): string[] {
  const lines: string[] = [];
  if (result.action === 'created')
    lines.push(`created stream "${result.stream}" with subjects ${result.subjects.join(', ')}`);
  else if (result.action === 'updated') lines.push(`added ${result.added.join(', ')} to stream "${result.stream}"`);
  else lines.push(`stream "${result.stream}" is ready (subjects ${result.subjects.join(', ')}); nothing to change`);
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  return lines;
}

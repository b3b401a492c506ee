/** `tailslide stream init`: create the ruleset stream, or add an app's subjects to it. */
import { Command, Option } from 'commander';
import type { EnsureStreamResult } from '../../admin/stream';
import { STREAM_LAYOUTS, type StreamLayout } from '../../nats/subjects';
import { action } from '../action';
import { type AppFlags, type JsonFlags, type NatsFlags, withAppId, withJson, withNatsOptions } from '../options';
import { parseAppId } from '../parse';
import { withAdmin } from '../session';

type Flags = NatsFlags & AppFlags & JsonFlags & { readonly subjects: StreamLayout };

export function streamCommand(): Command {
  const stream = new Command('stream').description('set up the JetStream stream that holds the rulesets');
  const init = new Command('init').description(
    'create the stream (file storage, full history) if it is missing, in the layout Tower and Aerobat use: ' +
      "Tower's control subjects plus each app's literal subjects; with --app-id, make sure the stream " +
      'captures that app (adds its two subjects, as Tower does; flag edits do this by themselves)',
  );
  withAppId(init, 'also make sure the stream captures this app');
  init.addOption(
    new Option(
      '--subjects <layout>',
      'subjects of a NEW stream: "literal" (circuit_open, circuit_close, circuit_recovery_start, ' +
        'circuit_recovery_update, then apps.<id>.update.manual / .circuit per app) or "wildcard" ' +
        "(apps.*.update.*; WARNING: Tower and Aerobat cannot use it: Tower fails to add its apps' " +
        "subjects and Aerobat's consumer is refused). An existing stream is never changed to another layout",
    )
      .choices(STREAM_LAYOUTS)
      .default('literal'),
  );
  withNatsOptions(init);
  withJson(init);
  init.addHelpText(
    'after',
    '\nExamples:\n' +
      '  tailslide stream init\n' +
      '  tailslide stream init --app-id 7 --nats-stream flags_ruleset\n' +
      '  tailslide stream init --subjects wildcard   # only without Tower and Aerobat',
  );
  init.action(
    action<Flags>(async ({ opts, out }) => {
      const appId = opts.appId === undefined ? undefined : parseAppId(opts.appId);
      const layout = opts.subjects;
      const result = await withAdmin(opts, out, (admin) =>
        admin.ensureStream(appId === undefined ? { layout } : { appId, layout }),
      );
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

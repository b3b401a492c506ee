/** `tailslide stream init`: create the ruleset stream, or add an app's subjects to it. */
import { Command, Option } from 'commander';
import type { EnsureStreamResult } from '../../admin/stream';
import { STREAM_LAYOUTS, type StreamLayout } from '../../nats/subjects';
import { action, type CliDeps } from '../core/action';
import { type AppFlags, type JsonFlags, type NatsFlags, withAppId, withJson, withNatsOptions } from '../parse/options';
import { appIdFlag } from '../parse/values';
import { badValue } from '../core/exit-codes';
import { withAdmin } from '../core/session';

type Flags = NatsFlags & AppFlags & JsonFlags & { readonly subjects: StreamLayout; readonly replicas: string };

export function streamCommand(deps: CliDeps): Command {
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
  init.addOption(
    new Option(
      '--replicas <n>',
      'replicas of a NEW stream: 1, or 3 on a JetStream cluster of 3 or more nodes (the stream then ' +
        'survives the loss of one node); an existing stream is left as it is, with a warning if it has fewer',
    ).default('1'),
  );
  withNatsOptions(init);
  withJson(init);
  init.addHelpText(
    'after',
    '\nExamples:\n' +
      '  tailslide stream init\n' +
      '  tailslide stream init --app-id 7 --nats-stream flags_ruleset\n' +
      '  tailslide stream init --replicas 3 --nats-server nats://n1:4222,nats://n2:4222,nats://n3:4222\n' +
      '  tailslide stream init --subjects wildcard   # only without Tower and Aerobat',
  );
  init.action(
    action<Flags>(deps, async ({ opts, out, session }) => {
      const appId = opts.appId === undefined ? undefined : appIdFlag(opts.appId);
      const layout = opts.subjects;
      const replicas = parseReplicas(opts.replicas);
      const result = await withAdmin(session, opts, out, (admin) =>
        admin.ensureStream(appId === undefined ? { layout, replicas } : { appId, layout, replicas }),
      );
      out.result(result, () => streamLines(result));
      if (out.json) for (const warning of result.warnings) out.warn(warning);
    }),
  );
  return stream.addCommand(init);
}

function parseReplicas(value: string): number {
  if (!/^[1-5]$/.test(value.trim())) throw badValue('--replicas', value, 'an integer from 1 to 5');
  return Number(value.trim());
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

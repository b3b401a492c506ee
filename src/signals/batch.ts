/**
 * One batch of writes and its delivery state. A batch keeps its id, entries and planned commands
 * verbatim from its first send to its last, so a resend is the same batch (docs/signals.md,
 * "Idempotent batches"). It is split in groups, each sent as one script (or MULTI/EXEC): one group
 * on a single Redis, one per hash slot on a Cluster. A group is answered, or not yet (in doubt, or
 * never sent); the batch is settled once every group is answered.
 */
import type { PlannedCommand } from './backend';
import {
  BATCH_SCRIPT,
  BATCH_SCRIPT_SHA,
  decodeScriptReply,
  isNoScript,
  markerKey,
  scriptArguments,
} from './batch-script';
import type { BufferEntry } from './buffer';
import type { RedisExecReply } from './client';
import { groupBySlot } from './slots';

type Replies = NonNullable<RedisExecReply>;

export interface BatchGroup {
  readonly commands: PlannedCommand[];
  /** Positions of the group's commands in the batch's command list. */
  readonly positions: number[];
  readonly marker: string;
  /** The group's replies once answered (a duplicate answer is a success for each command). */
  replies: Replies | undefined;
  /** A send of the group may have reached Redis without an answer (lost connection, timeout). */
  maybeRun: boolean;
}

export class Batch {
  readonly groups: BatchGroup[];

  constructor(
    readonly id: string,
    readonly entries: BufferEntry[],
    readonly commands: PlannedCommand[],
    readonly events: number,
    /** Host time of the first send (the resend horizon counts from it). */
    readonly firstSentMs: number,
    perSlot: boolean,
  ) {
    const split = perSlot ? groupBySlot(commands) : [{ commands: [...commands], positions: commands.map((_, i) => i) }];
    this.groups = split.map((g) => ({
      commands: g.commands,
      positions: g.positions,
      marker: markerKey(id, String(g.commands[0]?.args[0] ?? '')),
      replies: undefined,
      maybeRun: false,
    }));
  }

  get answered(): boolean {
    return this.groups.every((g) => g.replies !== undefined);
  }

  /** Whether Redis may hold some of the batch: a group answered, or sent and not answered. */
  get maybeApplied(): boolean {
    return this.groups.some((g) => g.maybeRun || g.replies !== undefined);
  }

  /** The replies of every group, in the batch's command order (as one EXEC would answer). */
  replies(): Replies {
    const out: Replies = new Array<[Error | null, unknown]>(this.commands.length);
    for (const group of this.groups)
      group.positions.forEach((position, j) => {
        out[position] = group.replies?.[j] ?? [new Error('no reply for this command'), null];
      });
    return out;
  }
}

/** What the sink needs of a client to send a group. */
export interface BatchClient {
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  multi(): { call(command: string, ...args: Array<string | number>): unknown; exec(): Promise<RedisExecReply> };
}

/**
 * Sends one group as the batch script: EVALSHA, then EVAL when the server does not have the script
 * yet. Resolves with the group's replies (all successes for a duplicate); rejects as the command did.
 */
export async function sendScript(client: BatchClient, group: BatchGroup): Promise<Replies> {
  const args = scriptArguments(group.marker, group.commands);
  let reply: unknown;
  try {
    reply = await client.call('EVALSHA', BATCH_SCRIPT_SHA, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    reply = await client.call('EVAL', BATCH_SCRIPT, ...args);
  }
  const answer = decodeScriptReply(reply, group.commands.length);
  return answer.kind === 'duplicate' ? group.commands.map(() => [null, 'duplicate']) : answer.replies;
}

/** Sends one group as MULTI/EXEC (where scripts are refused): not idempotent. */
export async function sendMulti(client: BatchClient, group: BatchGroup): Promise<Replies> {
  const tx = client.multi();
  for (const command of group.commands) tx.call(command.name, ...command.args);
  const replies = await tx.exec();
  if (replies === null) throw new Error('EXEC aborted');
  return replies;
}

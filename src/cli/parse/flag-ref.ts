/**
 * How a flag is named on the command line: by title, or by id (`7` or `#7`). A title wins over an
 * id, so a flag titled "7" is still reachable by its title; `#7` is always the id.
 */
import { UnknownFlagError } from '../../admin/errors';
import type { InvalidFlag } from '../../admin/read';
import type { WireFlag } from '../../ruleset/types';

export function findFlagByArg(flags: readonly WireFlag[], arg: string): WireFlag | undefined {
  const idOnly = /^#(\d+)$/.exec(arg.trim());
  if (idOnly) return flags.find((flag) => flag.id === Number(idOnly[1]));
  const byTitle = flags.find((flag) => flag.title === arg);
  if (byTitle !== undefined) return byTitle;
  return /^\d+$/.test(arg.trim()) ? flags.find((flag) => flag.id === Number(arg.trim())) : undefined;
}

/** The flag named by `arg`, or an `UnknownFlagError` listing the app's flags (exit code 2). */
export function pickFlag(flags: readonly WireFlag[], arg: string, appId: number): WireFlag {
  const flag = findFlagByArg(flags, arg);
  if (flag === undefined) {
    const idOnly = /^#?(\d+)$/.exec(arg.trim());
    throw new UnknownFlagError(
      appId,
      idOnly && arg.trim().startsWith('#') ? Number(idOnly[1]) : arg,
      flags.map((f) => f.title),
    );
  }
  return flag;
}

/** The invalid flag `arg` names (by `#7`, `7` or its title) when no valid flag does. */
export function findInvalidByArg(invalid: readonly InvalidFlag[], arg: string): InvalidFlag | undefined {
  const idOnly = /^#?(\d+)$/.exec(arg.trim());
  const byTitle = arg.trim().startsWith('#') ? undefined : invalid.find((flag) => flag.title === arg);
  return byTitle ?? (idOnly ? invalid.find((flag) => flag.id === Number(idOnly[1])) : undefined);
}

/** Glue between commander and the command functions: typed options, arguments and an Output. */
import { Command } from 'commander';
import { Output } from '../format/output';

export interface ActionContext<O> {
  /** The command's options (flags, environment, defaults), as commander parsed them. */
  readonly opts: O;
  /** Declared arguments in order; a variadic one is an array. */
  readonly args: readonly unknown[];
  readonly out: Output;
}

/** An action handler for `command.action()`: commander passes the arguments, the options, then the command. */
export function action<O extends object>(
  run: (ctx: ActionContext<O>) => Promise<void>,
): (...params: unknown[]) => Promise<void> {
  return async (...params: unknown[]) => {
    const command = params[params.length - 1];
    if (!(command instanceof Command)) throw new Error('commander did not pass the command to its action');
    const opts = command.opts<O>();
    const out = new Output((opts as { json?: unknown }).json === true);
    await run({ opts, args: command.processedArgs as unknown[], out });
  };
}

export function stringArg(args: readonly unknown[], index: number): string {
  const value = args[index];
  return typeof value === 'string' ? value : '';
}

export function optionalStringArg(args: readonly unknown[], index: number): string | undefined {
  const value = args[index];
  return typeof value === 'string' ? value : undefined;
}

export function stringsArg(args: readonly unknown[], index: number): string[] {
  const value = args[index];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

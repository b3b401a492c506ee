/** Resolves after `ms`. The timer keeps the process alive: a command waits on it. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

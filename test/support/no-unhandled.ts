// Every test file fails if anything in it produced an unhandled rejection or an
// uncaught exception: the SDK must never hand those to its host.
const problems: unknown[] = [];
const onRejection = (reason: unknown): void => {
  problems.push(reason);
};
const onException = (error: unknown): void => {
  problems.push(error);
};
process.on('unhandledRejection', onRejection);
process.on('uncaughtException', onException);

afterAll(async () => {
  // Give rejections created in the last tick a chance to surface.
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
  expect(problems).toEqual([]);
});

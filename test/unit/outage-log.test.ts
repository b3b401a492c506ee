/** The signal sink's outage log: one warning per outage, one info line when it ends. Fake time. */
import { OutageLog } from '../../src/signals/outage-log';
import { RecordingLogger } from '../support/flags';

afterEach(() => {
  jest.useRealTimers();
});

describe('OutageLog', () => {
  test('one warning per outage however often it is entered; the end says how long and what was dropped', () => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const logger = new RecordingLogger();
    const log = new OutageLog(logger, 500);
    expect(log.active).toBe(false);

    log.enter('ECONNREFUSED', 3);
    log.enter('ETIMEDOUT', 10);
    expect(log.active).toBe(true);
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        message:
          'Signals: Redis unreachable (ECONNREFUSED); buffering up to 500 events, dropping the oldest beyond that',
      },
    ]);

    jest.advanceTimersByTime(12_345);
    log.exit(42, 10);
    expect(log.active).toBe(false);
    expect(logger.lines[1]).toEqual({
      level: 'info',
      message: 'Signals: Redis reachable again after 12.3 s; writing 42 buffered events (7 dropped during the outage)',
    });
  });

  test('no drop during the outage: the end line says nothing of drops', () => {
    jest.useFakeTimers();
    const logger = new RecordingLogger();
    const log = new OutageLog(logger, 10);
    log.enter('down', 5);
    jest.advanceTimersByTime(1_000);
    log.exit(0, 5);
    expect(logger.lines[1]?.message).toBe('Signals: Redis reachable again after 1.0 s; writing 0 buffered events');
  });

  test('exit() without an outage says nothing; a second outage warns again', () => {
    const logger = new RecordingLogger();
    const log = new OutageLog(logger, 10);
    log.exit(5, 0);
    expect(logger.lines).toEqual([]);
    log.enter('first', 0);
    log.exit(0, 0);
    log.exit(0, 0);
    log.enter('second', 0);
    expect(logger.lines.map((l) => l.level)).toEqual(['warn', 'info', 'warn']);
    expect(logger.lines[2]?.message).toMatch(/\(second\)/);
  });
});

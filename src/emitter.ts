import type { Logger } from './logger';

type Listener<Args extends unknown[]> = (...args: Args) => void;

/**
 * A small typed event emitter. Unlike Node's EventEmitter it never throws from `emit`:
 * an `error` event with no listener is not fatal, and a listener that throws is logged
 * and does not stop the other listeners.
 */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Array<Listener<never[]>>>();

  constructor(private readonly listenerLogger: Logger) {}

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as unknown as Listener<never[]>);
    this.listeners.set(event, list);
    return this;
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapper: Listener<Events[K]> = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.listeners.get(event);
    if (!list) return this;
    const index = list.indexOf(listener as unknown as Listener<never[]>);
    if (index >= 0) list.splice(index, 1);
    return this;
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  removeAllListeners(): this {
    this.listeners.clear();
    return this;
  }

  /** Calls every listener of `event`; returns whether there was one. Never throws. */
  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const listener of [...list]) {
      try {
        (listener as unknown as Listener<Events[K]>)(...args);
      } catch (err) {
        this.listenerLogger.error(
          `a listener of "${String(event)}" threw: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    return true;
  }
}

// A tiny typed event source: `on` returns its own unsubscribe (handy for React effects and IPC
// forwarding); `emit` returns what listeners returned so async work can be awaited (bus acks).
export type Listener<T> = (value: T) => unknown;

export class Signal<T> {
  private readonly listeners = new Set<Listener<T>>();

  on(listener: Listener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(value: T): unknown[] {
    const results: unknown[] = [];
    for (const listener of [...this.listeners]) results.push(listener(value));
    return results;
  }
}

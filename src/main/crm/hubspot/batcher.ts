// Requests that wait for the request budget ride together, DataLoader-style: a batch takes ONE
// budget slot, the ops that arrive while it waits join it, and when the slot is granted the batch
// closes and `send` spends the slot on one request for all of them. With room in the budget an op
// takes its slot there and then and goes alone: the wire, and its timing, are what they were.
import type { BudgetSlot } from '../http.js';

export interface BatchedOp<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

export interface SlotBatcherOptions<I, O> {
  /** Most ops in one batch; the next op opens a new one. */
  max: number;
  /** A slot this instant, or null when the op would wait (http.ts `slotNow`). */
  slotNow: () => BudgetSlot | null;
  /** The batch's place in the budget (http.ts `takeSlot`). */
  takeSlot: () => Promise<BudgetSlot>;
  /** Sends the closed batch on `slot` and settles its ops; a throw rejects every op still pending. */
  send: (ops: Array<BatchedOp<I, O>>, slot: BudgetSlot) => Promise<void>;
}

export class SlotBatcher<I, O> {
  private open: Array<BatchedOp<I, O>> | null = null;

  constructor(private readonly opts: SlotBatcherOptions<I, O>) {}

  run(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const op = { input, resolve, reject };
      if (this.open && this.open.length < this.opts.max) return void this.open.push(op);
      const slot = this.opts.slotNow();
      if (slot) return void this.send([op], slot);
      this.open = this.openBatch();
      this.open.push(op);
    });
  }

  /**
   * A new batch asking for its slot. The slot and the send run in the first op's async context (its
   * abort scope: the outbox closing stops them); an adapter serves one outbox, so that is everyone's.
   */
  private openBatch(): Array<BatchedOp<I, O>> {
    const batch: Array<BatchedOp<I, O>> = [];
    const close = () => {
      if (this.open === batch) this.open = null;
    };
    void this.opts
      .takeSlot()
      .finally(close)
      .then((slot) => this.send(batch, slot), (error: unknown) => batch.forEach((op) => op.reject(error)));
    return batch;
  }

  private async send(batch: Array<BatchedOp<I, O>>, slot: BudgetSlot): Promise<void> {
    try {
      await this.opts.send(batch, slot);
    } catch (error) {
      for (const op of batch) op.reject(error);
    }
  }
}

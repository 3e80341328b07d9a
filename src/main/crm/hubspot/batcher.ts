// Requests that wait for the request budget ride together, DataLoader-style: a batch takes ONE
// budget slot, the ops that arrive while it waits join it, and when the slot is granted the batch
// closes and `send` spends the slot on one request for all of them. With room in the budget the
// slot comes at once, so a batch holds the one op and the wire is what it was without batching.
import type { BudgetSlot } from '../http.js';

export interface BatchedOp<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

export interface SlotBatcherOptions<I, O> {
  /** Most ops in one batch; the next op opens a new one. */
  max: number;
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
      if (!this.open || this.open.length >= this.opts.max) this.open = this.openBatch();
      this.open.push({ input, resolve, reject });
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
    this.opts
      .takeSlot()
      .finally(close)
      .then((slot) => this.opts.send(batch, slot))
      .catch((error: unknown) => {
        for (const op of batch) op.reject(error);
      });
    return batch;
  }
}

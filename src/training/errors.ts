/** Errors of the training engine (src/training/). */
import { SextantError } from '../errors.ts';

/** A training run stopped because its caller aborted it (AbortSignal or TrainingWorker cancel). */
export class TrainingCancelledError extends SextantError {
  readonly code = 'training_cancelled';
  constructor(message = 'training was cancelled') {
    super(message);
  }
}

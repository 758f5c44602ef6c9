/**
 * Groups of a collection's documents by one metadata field: the documents sharing a value form a
 * group. Read by the fairness audit (run.ts) and by the training gate's fairness check
 * (src/lifecycle/training/fairness.ts), so both group documents the same way.
 */
import { InvalidInputError } from '../../errors.ts';
import type { Metadata } from '../../values/filter.ts';
import { groupKey, groupValueOf, type GroupValue } from './exposure.ts';

/** More distinct values than this is not a grouping (an id, a free-text field). */
export const MAX_GROUPS = 1000;

export interface GroupTable {
  readonly values: GroupValue[];
  /** Documents per group (index = group index). */
  readonly documents: number[];
  /** Document id -> group index (grouped documents only). */
  readonly groupOf: ReadonlyMap<string, number>;
  /** Document id -> index into `labels` (grouped documents only). */
  readonly docIndex: ReadonlyMap<string, number>;
  /** Group of each grouped document, by document index. */
  readonly labels: readonly number[];
  /** Documents without the field (or with a value that forms no group). */
  readonly without: number;
}

/**
 * Groups of `documents` by `field` (top-level). 400s (InvalidInputError) for no documents, a field
 * no document has (naming fields they do have), or more than MAX_GROUPS distinct values.
 */
export function groupDocuments(documents: Iterable<{ readonly id: string; readonly metadata: Metadata }>, field: string, collection: string): GroupTable {
  const index = new Map<string, number>();
  const values: GroupValue[] = [];
  const counts: number[] = [];
  const groupOf = new Map<string, number>();
  const docIndex = new Map<string, number>();
  const labels: number[] = [];
  const otherFields = new Set<string>();
  let without = 0;
  let total = 0;
  for (const { id, metadata } of documents) {
    total++;
    const value = Object.hasOwn(metadata, field) ? groupValueOf(metadata[field]) : undefined;
    if (value === undefined) {
      without++;
      if (otherFields.size < 20) for (const f of Object.keys(metadata)) otherFields.add(f);
      continue;
    }
    const key = groupKey(value);
    let g = index.get(key);
    if (g === undefined) {
      if (values.length >= MAX_GROUPS) {
        throw new InvalidInputError(`metadata field '${field}' has more than ${MAX_GROUPS} distinct values in collection '${collection}': group by a categorical field (a bucket, a source, a language)`);
      }
      index.set(key, (g = values.length));
      values.push(value);
      counts.push(0);
    }
    counts[g]!++;
    groupOf.set(id, g);
    docIndex.set(id, labels.length);
    labels.push(g);
  }
  if (total === 0) throw new InvalidInputError(`collection '${collection}' has no documents to group`);
  if (values.length === 0) {
    const seen = otherFields.size > 0 ? `; fields its documents have: ${[...otherFields].sort().join(', ')}` : '; its documents have no metadata';
    throw new InvalidInputError(`no document of collection '${collection}' has metadata field '${field}' (with a string, number or boolean value)${seen}`);
  }
  return { values, documents: counts, groupOf, docIndex, labels, without };
}

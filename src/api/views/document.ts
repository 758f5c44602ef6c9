/** A document as a page of `GET /v1/collections/{name}/documents` shows it (GET of one document adds content_hash). */
import type { DocumentRow } from '../../store/types.ts';

export function documentView(doc: DocumentRow) {
  return { id: doc.id, title: doc.title, text: doc.text, metadata: doc.metadata, created_at: doc.createdAt, updated_at: doc.updatedAt };
}

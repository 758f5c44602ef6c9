/** `sextant/langchain`: a LangChain.js vector store and embeddings backed by a Sextant server. */
export {
  SextantVectorStore,
  jsonMetadata,
  type SextantAddOptions,
  type SextantDeleteParams,
  type SextantSearchOptions,
  type SextantVectorStoreArgs,
} from './vector-store.ts';
export { DEFAULT_BATCH_SIZE, SextantEmbeddings, type ModelSource, type SextantEmbeddingsOptions } from './embeddings.ts';

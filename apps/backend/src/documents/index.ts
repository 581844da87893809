export { createDocumentLoader } from './document-loader.js';
export { generateDid, keyStore, SIGNING_KEY_FILE, type DocumentSigner } from './key-store.js';
export { createOutputBuilder, type OutputBuilderDependencies } from './output-builder.js';
export {
  buildOutputDocuments,
  CREDENTIALS_V1_CONTEXT,
  type BuildOutputDocumentsOptions,
  type OutputBlockOptions,
  type OutputDocument,
  type OutputDocumentsResult,
} from './output-documents.js';
export { isSemanticVersion, productVersion, SEMANTIC_VERSION_PATTERN } from './product-version.js';
export { schemaJsonLdContext, schemaNames, type SchemaNames } from './schema-context.js';
export { compileSchema, validateSubject, type SchemaViolation } from './schema-validation.js';
export { hasSystemFields, SYSTEM_FIELDS, withSystemFields, type DocumentSchema } from './system-fields.js';

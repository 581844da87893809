import { contexts as credentialsContexts } from '@digitalbazaar/credentials-context';
import { driver as didKeyDriver } from '@digitalbazaar/did-method-key';
import { Ed25519VerificationKey2020 } from '@digitalbazaar/ed25519-verification-key-2020';
import type { DocumentLoader } from '@digitalbazaar/vc';
import didContext from 'did-context';
import ed25519Context from 'ed25519-signature-2020-context';
import x25519Context from 'x25519-key-agreement-2020-context';

/**
 * JSON-LD contexts bundled in npm packages: the W3C credentials contexts (1.1 and 2.0),
 * the DID core context, the Ed25519Signature2020 suite and the X25519 key agreement
 * context that did:key documents use.
 */
const PACKAGED_CONTEXTS: ReadonlyMap<string, unknown> = new Map([
  ...credentialsContexts,
  ...didContext.contexts,
  ...ed25519Context.contexts,
  ...x25519Context.contexts,
]);

const didKeys = didKeyDriver();
didKeys.use({ multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519VerificationKey2020.from });

/**
 * Creates a JSON-LD document loader that never touches the network. It serves the
 * packaged contexts, the given schema contexts (context URL to context document) and
 * did:key documents, which are derived from the key itself. Any other URL is rejected.
 */
export function createDocumentLoader(schemaContexts: ReadonlyMap<string, unknown> = new Map()): DocumentLoader {
  return async (url: string) => {
    const packaged = PACKAGED_CONTEXTS.get(url);
    if (packaged !== undefined) {
      // jsonld keeps a context whose document is tagged 'static' in its process-wide cache,
      // with the processed form. Untagged, each expansion and canonicalization of a
      // signature processed the W3C credentials context again (jsonld 9).
      return { contextUrl: null, documentUrl: url, document: packaged, tag: 'static' };
    }
    const schemaContext = schemaContexts.get(url);
    if (schemaContext !== undefined) {
      return { contextUrl: null, documentUrl: url, document: schemaContext };
    }
    if (url.startsWith('did:key:')) {
      return { contextUrl: null, documentUrl: url, document: await didKeys.get({ url }) };
    }
    throw new Error(
      `JSON-LD document ${url} is not available offline. The loader serves only the W3C credentials, ` +
        'DID, Ed25519Signature2020 and X25519 contexts, the policy schema contexts and did:key documents.',
    );
  };
}

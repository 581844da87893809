/**
 * Declarations for the parts of Digital Bazaar's VC libraries and the JSON-LD context
 * packages that this folder uses. The packages ship JavaScript without type definitions.
 */

declare module '@digitalbazaar/ed25519-verification-key-2020' {
  export interface ExportedKeyPair {
    '@context'?: string;
    id?: string;
    type: 'Ed25519VerificationKey2020';
    controller?: string;
    publicKeyMultibase: string;
    privateKeyMultibase?: string;
  }

  export class Ed25519VerificationKey2020 {
    id?: string;
    controller?: string;
    readonly type: 'Ed25519VerificationKey2020';
    readonly publicKeyMultibase: string;
    readonly privateKeyMultibase?: string;
    static generate(options?: { seed?: Uint8Array; controller?: string; id?: string }): Promise<Ed25519VerificationKey2020>;
    static from(options: Partial<ExportedKeyPair> & { publicKeyMultibase: string }): Promise<Ed25519VerificationKey2020>;
    fingerprint(): string;
    /** JWK of the key pair. With `privateKey`, `d` is the 64-byte secret key (seed, then public key). */
    toJwk(options: { publicKey?: boolean; privateKey?: boolean }): { kty: 'OKP'; crv: 'Ed25519'; x?: string; d?: string };
    export(options: { publicKey?: boolean; privateKey?: boolean; includeContext?: boolean }): ExportedKeyPair;
  }
}

declare module '@digitalbazaar/ed25519-signature-2020' {
  import type { Ed25519VerificationKey2020 } from '@digitalbazaar/ed25519-verification-key-2020';

  export class Ed25519Signature2020 {
    /** Either `key`, or a `signer` whose `id` is the verification method. */
    constructor(options?: {
      key?: Ed25519VerificationKey2020;
      signer?: { id: string; algorithm: string; sign(options: { data: Uint8Array }): Promise<Uint8Array> };
      date?: Date | string;
    });
  }
}

declare module '@digitalbazaar/did-method-key' {
  import type { Ed25519VerificationKey2020 } from '@digitalbazaar/ed25519-verification-key-2020';

  export interface DidKeyDriver {
    use(options: {
      multibaseMultikeyHeader: string;
      fromMultibase: (options: { publicKeyMultibase: string }) => Promise<unknown>;
    }): void;
    get(options: { did?: string; url?: string }): Promise<Record<string, unknown>>;
    fromKeyPair(options: { verificationKeyPair: Ed25519VerificationKey2020 }): Promise<{
      didDocument: { id: string; assertionMethod: string[] } & Record<string, unknown>;
    }>;
  }

  export function driver(): DidKeyDriver;
}

declare module '@digitalbazaar/vc' {
  export type DocumentLoader = (url: string) => Promise<{
    contextUrl: string | null;
    documentUrl: string;
    document: unknown;
    /** `'static'` lets jsonld cache the context and its processed form across operations. */
    tag?: string;
  }>;

  export interface VerificationResult {
    verified: boolean;
    error?: Error & { errors?: Error[] };
    results?: unknown[];
  }

  export function issue(options: {
    credential: Record<string, unknown>;
    suite: unknown;
    documentLoader: DocumentLoader;
  }): Promise<Record<string, unknown>>;

  export function verifyCredential(options: {
    credential: Record<string, unknown>;
    suite: unknown;
    documentLoader: DocumentLoader;
  }): Promise<VerificationResult>;
}

declare module '@digitalbazaar/credentials-context' {
  /** JSON-LD context documents by URL: the VC 1.1 and 2.0 contexts. */
  export const contexts: Map<string, unknown>;
}

declare module 'did-context' {
  const didContext: { contexts: Map<string, unknown>; CONTEXT_URL: string };
  export default didContext;
}

declare module 'ed25519-signature-2020-context' {
  const ed25519Context: { contexts: Map<string, unknown>; CONTEXT_URL: string };
  export default ed25519Context;
}

declare module 'x25519-key-agreement-2020-context' {
  const x25519Context: { contexts: Map<string, unknown> };
  export default x25519Context;
}

import { createPrivateKey, createPublicKey, randomUUID, sign as signBytes, type KeyObject } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { driver as didKeyDriver } from '@digitalbazaar/did-method-key';
import { Ed25519Signature2020 } from '@digitalbazaar/ed25519-signature-2020';
import {
  Ed25519VerificationKey2020,
  type ExportedKeyPair,
} from '@digitalbazaar/ed25519-verification-key-2020';
import { issue, type DocumentLoader } from '@digitalbazaar/vc';

/** Name of the document-signing key file in the data directory. */
export const SIGNING_KEY_FILE = 'document-signing-key.json';

/** Issues credentials as one did:key identity. */
export interface DocumentSigner {
  /** The issuer's DID (`did:key:z6Mk...`). */
  did: string;
  /** The verification method that signs: `<did>#<key fingerprint>`. */
  verificationMethod: string;
  /** Adds an Ed25519Signature2020 proof, loading every JSON-LD context through `documentLoader`. */
  sign(credential: Record<string, unknown>, documentLoader: DocumentLoader): Promise<Record<string, unknown>>;
}

const didKeys = didKeyDriver();
didKeys.use({ multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519VerificationKey2020.from });

/**
 * Loads the document-signing key from `dataDir`, creating the directory and an Ed25519
 * key on first start. The key file is written with mode 0600, and a key file that other
 * users can read is rejected.
 */
export async function keyStore(dataDir: string): Promise<DocumentSigner> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keyPath = path.join(dataDir, SIGNING_KEY_FILE);

  const exported = (await readKeyFile(keyPath)) ?? (await createKeyFile(keyPath));
  const keyPair = await Ed25519VerificationKey2020.from(exported);
  return signerFor(keyPair);
}

async function readKeyFile(keyPath: string): Promise<ExportedKeyPair | undefined> {
  let text: string;
  try {
    text = await readFile(keyPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }

  const { mode } = await stat(keyPath);
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `The signing key ${keyPath} is readable by other users (mode ${(mode & 0o777).toString(8)}). ` +
        `Run "chmod 600 ${keyPath}" and start again.`,
    );
  }
  const parsed = JSON.parse(text) as ExportedKeyPair;
  if (parsed.type !== 'Ed25519VerificationKey2020' || !parsed.privateKeyMultibase) {
    throw new Error(`The signing key ${keyPath} is not an Ed25519VerificationKey2020 key pair with a private key.`);
  }
  return parsed;
}

async function createKeyFile(keyPath: string): Promise<ExportedKeyPair> {
  const keyPair = await Ed25519VerificationKey2020.generate();
  const { did, verificationMethod } = await didKeyIdentity(keyPair);
  keyPair.controller = did;
  keyPair.id = verificationMethod;
  const exported = keyPair.export({ publicKey: true, privateKey: true, includeContext: true });

  // Write a temporary file, then hard-link it into place: link() fails when the key
  // already exists, so two processes starting together both end up with the first key.
  const temporaryPath = `${keyPath}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporaryPath, `${JSON.stringify(exported, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await link(temporaryPath, keyPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
    const existing = await readKeyFile(keyPath);
    if (existing) {
      return existing;
    }
    throw error;
  } finally {
    await rm(temporaryPath, { force: true });
  }
  return exported;
}

async function didKeyIdentity(keyPair: Ed25519VerificationKey2020): Promise<{ did: string; verificationMethod: string }> {
  const { didDocument } = await didKeys.fromKeyPair({ verificationKeyPair: keyPair });
  const verificationMethod = didDocument.assertionMethod[0];
  if (!verificationMethod) {
    throw new Error(`The did:key document ${didDocument.id} lists no assertion method.`);
  }
  return { did: didDocument.id, verificationMethod };
}

async function signerFor(keyPair: Ed25519VerificationKey2020): Promise<DocumentSigner> {
  const { did, verificationMethod } = await didKeyIdentity(keyPair);
  keyPair.controller = did;
  keyPair.id = verificationMethod;

  const privateKey = privateKeyObject(keyPair);
  const signer = {
    id: verificationMethod,
    algorithm: 'Ed25519',
    sign: async ({ data }: { data: Uint8Array }) => new Uint8Array(signBytes(null, data, privateKey)),
  };
  return {
    did,
    verificationMethod,
    sign: (credential, documentLoader) => issue({ credential, suite: new Ed25519Signature2020({ signer }), documentLoader }),
  };
}

/**
 * Parses the private key once. The key pair's own `signer()` parses it from DER for every
 * signature, which took about 0.5 ms of the 2 ms per signed document in a CPU profile (2-core machine).
 */
function privateKeyObject(keyPair: Ed25519VerificationKey2020): KeyObject {
  const jwk = keyPair.toJwk({ publicKey: true, privateKey: true });
  // The key pair's `d` is its 64-byte secret key: the 32-byte seed, then the public key.
  // RFC 8037 defines `d` as the seed alone.
  const seed = Buffer.from(jwk.d ?? '', 'base64url').subarray(0, 32);
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: seed.toString('base64url') },
    format: 'jwk',
  });
  // Node.js does not check `x` against `d`, so compare the derived public key.
  if (createPublicKey(privateKey).export({ format: 'jwk' }).x !== jwk.x) {
    throw new Error(
      `The document-signing key ${keyPair.id ?? ''} is invalid: its private key does not match its public key. ` +
        `Restore ${SIGNING_KEY_FILE} in the data directory from a backup, or delete it to create a new key.`,
    );
  }
  return privateKey;
}

/** Creates a fresh did:key, the id of each document when the block's idType is DID. */
export async function generateDid(): Promise<string> {
  const keyPair = await Ed25519VerificationKey2020.generate();
  return (await didKeyIdentity(keyPair)).did;
}

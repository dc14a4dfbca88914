// Verifies a key-signed Sigstore bundle v0.3 fully offline with the npm package @sigstore/verify, given the public
// key through a key finder (no transparency log, certificate or timestamp required). Used by
// signing/tests/npm_interop.rs; needs `npm install @sigstore/verify @sigstore/bundle` in NODE_PATH.
//
//   node verify_bundle.js BUNDLE.json COSIGN.pub
//
// Prints the statement's subject sha256 and the key hint on success; exits non-zero on failure.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [bundlePath, keyPath] = process.argv.slice(2);
const json = JSON.parse(fs.readFileSync(bundlePath, 'utf8'));
const bundle = bundleFromJSON(json);
const key = crypto.createPublicKey(fs.readFileSync(keyPath));
const expectedHint = crypto
  .createHash('sha256')
  .update(key.export({ type: 'spki', format: 'der' }))
  .digest('base64');
const trustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};
const keyFinder = (hint) => {
  if (hint !== expectedHint) {
    throw new Error(`unknown key hint ${hint}, expected ${expectedHint}`);
  }
  return { publicKey: key, validFor: () => true };
};
const verifier = new Verifier(toTrustMaterial(trustedRoot, keyFinder), {
  tlogThreshold: 0,
  ctlogThreshold: 0,
  timestampThreshold: 0,
});
verifier.verify(toSignedEntity(bundle));
const statement = JSON.parse(Buffer.from(json.dsseEnvelope.payload, 'base64').toString('utf8'));
console.log(`${statement.subject[0].digest.sha256} ${expectedHint}`);

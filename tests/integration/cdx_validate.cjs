// SPDX-License-Identifier: BSD-2-Clause
// Validates JSON documents against a CycloneDX schema with ajv.
// usage: node cdx_validate.cjs NODE_MODULES SCHEMA_DIR SPEC(1.6|1.7) FILE...
// The BOM schema refers to spdx, jsf and cryptography-defs by relative
// name, resolved against its $id: each is registered at that address.
'use strict';
const fs = require('fs');
const path = require('path');
const [modules, dir, spec, ...files] = process.argv.slice(2);
const Ajv = require(path.join(modules, 'ajv'));
const addFormats = require(path.join(modules, 'ajv-formats'));

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// idn-email and iri-reference have no ajv-formats validator: accepted as text.
ajv.addFormat('idn-email', true);
ajv.addFormat('iri-reference', true);
for (const f of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json',
                 'cryptography-defs.SNAPSHOT.schema.json']) {
  const p = path.join(dir, f);
  if (!fs.existsSync(p)) continue;
  const s = JSON.parse(fs.readFileSync(p, 'utf8'));
  s.$id = 'http://cyclonedx.org/schema/' + f;
  ajv.addSchema(s);
}
const bom = JSON.parse(fs.readFileSync(path.join(dir, `bom-${spec}.SNAPSHOT.schema.json`), 'utf8'));
const validate = ajv.compile(bom);
let bad = 0;
for (const f of files) {
  const doc = JSON.parse(fs.readFileSync(f, 'utf8'));
  if (validate(doc)) {
    console.log(`valid: ${f}`);
  } else {
    bad++;
    console.log(`INVALID: ${f}`);
    for (const e of validate.errors.slice(0, 20))
      console.log(`  ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  }
}
process.exit(bad ? 1 : 0);

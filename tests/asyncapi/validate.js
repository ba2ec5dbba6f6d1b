// Parses an AsyncAPI document read from stdin with the official parser (and its Avro and
// Protobuf schema parsers) and prints its diagnostics as JSON: [{severity, code, message, path}].
// Severities are spectral's names: error, warning, info, hint. Exit code 0 when it could run.
'use strict';
const { Parser } = require('@asyncapi/parser');
const { AvroSchemaParser } = require('@asyncapi/avro-schema-parser');
const { ProtoBuffSchemaParser } = require('@asyncapi/protobuf-schema-parser');

const SEVERITY = ['error', 'warning', 'info', 'hint'];

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const parser = new Parser({ schemaParsers: [AvroSchemaParser(), ProtoBuffSchemaParser()] });
  const { diagnostics } = await parser.parse(Buffer.concat(chunks).toString('utf8'));
  const out = diagnostics.map((d) => ({
    severity: SEVERITY[d.severity] || String(d.severity),
    code: String(d.code),
    message: d.message,
    path: d.path,
  }));
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(2);
});

// Parses AsyncAPI documents with the official parser (and its Avro and Protobuf schema parsers).
// stdin: a JSON array of documents, each a string (JSON or YAML text); stdout: a JSON array of
// their diagnostics, each [{severity, code, message, path}], severities as spectral names them
// (error, warning, info, hint). One process for several documents: loading the parser is what
// takes the time. Exit code 0 when it could run.
'use strict';
const { Parser } = require('@asyncapi/parser');
const { AvroSchemaParser } = require('@asyncapi/avro-schema-parser');
const { ProtoBuffSchemaParser } = require('@asyncapi/protobuf-schema-parser');

const SEVERITY = ['error', 'warning', 'info', 'hint'];

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const documents = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const parser = new Parser({ schemaParsers: [AvroSchemaParser(), ProtoBuffSchemaParser()] });
  const results = [];
  for (const document of documents) {
    const { diagnostics } = await parser.parse(document);
    results.push(diagnostics.map((d) => ({
      severity: SEVERITY[d.severity] || String(d.severity),
      code: String(d.code),
      message: d.message,
      path: d.path,
    })));
  }
  process.stdout.write(JSON.stringify(results) + '\n');
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error) + '\n');
  process.exit(2);
});

// Checks Kubernetes manifests offline at `kubectl apply --dry-run=client --validate=strict` level,
// with the schemas of the `kubernetes-models` npm package (generated from Kubernetes' OpenAPI spec):
//  1. its ajv validators: types, required fields, enums, formats (int32, quantities...);
//  2. its TypeScript declarations, generated from the same spec: each document is compiled as a typed
//     object literal, so a field the API does not know fails (excess property check), as kubectl's
//     strict field validation does; the ajv validators alone accept unknown fields.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';

/** One problem found in one document of a manifest file. */
export interface ManifestProblem {
  file: string;
  /** 0-based index of the document in its file. */
  document: number;
  kind: string;
  message: string;
}

export interface ManifestDocument {
  file: string;
  document: number;
  value: Record<string, unknown>;
}

// The virtual source is placed in e2e/ so that `kubernetes-models` resolves from e2e/node_modules.
const E2E_DIR = fileURLToPath(new URL('../../', import.meta.url));
const VIRTUAL_FILE = join(E2E_DIR, '__kubernetes_manifests__.ts');

/** `kubernetes-models/<group/version>/<Kind>`: core resources (`v1`) have no group. */
function modelPath(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** Every document of every file (empty documents skipped); YAML syntax errors are problems too. */
export function readManifests(files: readonly string[]): { documents: ManifestDocument[]; problems: ManifestProblem[] } {
  const documents: ManifestDocument[] = [];
  const problems: ManifestProblem[] = [];
  for (const file of files) {
    parseAllDocuments(readFileSync(file, 'utf8')).forEach((doc, index) => {
      if ('errors' in doc && doc.errors.length) {
        problems.push({ file, document: index, kind: '?', message: doc.errors.map((e) => e.message).join('; ') });
        return;
      }
      const value = doc.toJS() as unknown;
      if (value === null || value === undefined) return;
      documents.push({ file, document: index, value: value as Record<string, unknown> });
    });
  }
  return { documents, problems };
}

async function ajvProblems(doc: ManifestDocument): Promise<ManifestProblem[]> {
  const { apiVersion, kind } = doc.value as { apiVersion?: unknown; kind?: unknown };
  const where = { file: doc.file, document: doc.document, kind: String(kind) };
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return [{ ...where, message: 'apiVersion and kind are required strings' }];
  let Model: new (data: unknown) => { validate(): void };
  try {
    Model = ((await import(modelPath(apiVersion, kind))) as Record<string, never>)[kind];
  } catch {
    return [{ ...where, message: `no schema for ${apiVersion} ${kind} (not a built-in Kubernetes kind)` }];
  }
  try {
    new Model(doc.value).validate();
    return [];
  } catch (error) {
    return [{ ...where, message: (error as Error).message }];
  }
}

function typeProblems(documents: readonly ManifestDocument[]): ManifestProblem[] {
  const lines: string[] = [];
  const lineOwner: ManifestDocument[] = [];
  documents.forEach((doc, i) => {
    const { apiVersion, kind } = doc.value as { apiVersion: string; kind: string };
    lines.push(`import type { I${kind} as T${i} } from '${modelPath(apiVersion, kind)}';`);
    lineOwner.push(doc);
  });
  documents.forEach((doc, i) => {
    // One property per line, so a diagnostic's line points at its document.
    for (const line of `export const doc${i}: T${i} = ${JSON.stringify(doc.value, null, 1)};`.split('\n')) {
      lines.push(line);
      lineOwner.push(doc);
    }
  });
  const text = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === VIRTUAL_FILE ? ts.createSourceFile(name, text, languageVersion, true) : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === VIRTUAL_FILE || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (name === VIRTUAL_FILE ? text : readFile(name));
  const program = ts.createProgram([VIRTUAL_FILE], options, host);
  const diagnostics = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()];
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const owner = lineOwner[line];
    if (!owner || d.file?.fileName !== VIRTUAL_FILE) return { file: '?', document: -1, kind: '?', message };
    return { file: owner.file, document: owner.document, kind: String(owner.value.kind), message: `${message} (near ${lines[line].trim()})` };
  });
}

/**
 * Validates every document: returns the problems (empty when all pass). Documents whose kind has no
 * schema are reported and left out of the field check.
 */
export async function validateManifests(documents: readonly ManifestDocument[]): Promise<ManifestProblem[]> {
  const problems: ManifestProblem[] = [];
  const known: ManifestDocument[] = [];
  for (const doc of documents) {
    const found = await ajvProblems(doc);
    problems.push(...found);
    if (!found.some((p) => p.message.startsWith('no schema') || p.message.startsWith('apiVersion and kind'))) known.push(doc);
  }
  if (known.length) problems.push(...typeProblems(known));
  return problems;
}

/** `file.yaml#2 (Deployment): message` lines. */
export function formatProblems(problems: readonly ManifestProblem[]): string {
  return problems.map((p) => `${basename(p.file)}#${p.document} (${p.kind}): ${p.message}`).join('\n');
}

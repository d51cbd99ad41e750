import { open, type FileHandle } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import { formatPath, parsePolicyContent, type PolicyDocument, type SchemaProblem } from './schema';

/*
 * Reads the policy file named by POLICY_FILE, or takes the open policy when POLICY_FILE=open says so: the open policy
 * is never what an unset or misspelt variable gives (the configuration refuses to start without one). Any problem in
 * a file stops the bot at startup with one error listing everything wrong, each with its line, so a bad file is fixed in one go and a
 * half-understood export policy is never enforced.
 */

/** Far above any real policy (thousands of entries), far below what could slow parsing down. */
export const POLICY_FILE_MAX_BYTES = 256 * 1024;
/** Aliases (*name) reuse a list; more uses than this is how "billion laughs" files expand. */
export const POLICY_MAX_ALIAS_COUNT = 100;
const PROBLEMS_SHOWN = 50;

/** Everyone may request images and share them anywhere, without limits; nobody is an admin. */
export const OPEN_POLICY: PolicyDocument = Object.freeze({ admins: [], limits: {} });

export type PolicyErrorKind =
  /** The file does not exist. */
  | 'missing'
  /** It exists but cannot be read (permissions, a directory, not UTF-8, too large). */
  | 'unreadable'
  /** It is not well-formed YAML. */
  | 'syntax'
  /** It is YAML, but not a valid policy. */
  | 'invalid';

export class PolicyError extends Error {
  constructor(
    readonly kind: PolicyErrorKind,
    readonly file: string,
    /** Each a sentence fragment such as `line 9: sharing.C0789IJKL.aws_accounts[2]: "12345" is not …`. */
    readonly problems: readonly string[],
  ) {
    const shown = problems.slice(0, PROBLEMS_SHOWN).map((p) => `  - ${p}`);
    const more = problems.length > PROBLEMS_SHOWN ? [`  … and ${problems.length - PROBLEMS_SHOWN} more problems`] : [];
    super([`Cannot use the policy file ${file} (POLICY_FILE):`, ...shown, ...more].join('\n'));
    this.name = 'PolicyError';
  }
}

/** What POLICY_FILE chose: the open policy by name, or a file. */
export type PolicySource = { kind: 'open' } | { kind: 'file'; file: string };

/** The POLICY_FILE value that chooses the open policy (a file of that name is written ./open). */
export const OPEN_POLICY_SETTING = 'open';

/** The open policy when chosen; otherwise the file's policy, or a PolicyError listing every problem. */
export async function loadPolicy(source: PolicySource): Promise<PolicyDocument> {
  if (source.kind === 'open') return OPEN_POLICY;
  return parsePolicy(await readPolicyFile(source.file), source.file);
}

/** The policy in `text`, read from `file` (named in messages); throws a PolicyError listing every problem. */
export function parsePolicy(text: string, file: string): PolicyDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  // Warnings count too: an unknown tag such as !!js/function would otherwise quietly become a string.
  const yamlProblems = [...doc.errors, ...doc.warnings].sort((a, b) => a.pos[0] - b.pos[0]);
  if (yamlProblems.length > 0) {
    throw new PolicyError(
      'syntax',
      file,
      yamlProblems.map((problem) => `${lineAndColumn(lineCounter, problem.pos[0])}: ${describeYamlProblem(problem)}`),
    );
  }

  let content: unknown;
  try {
    content = doc.toJS({ maxAliasCount: POLICY_MAX_ALIAS_COUNT });
  } catch (error) {
    throw new PolicyError('syntax', file, [describeAliasProblem(error)]);
  }
  if (content === null || content === undefined) {
    throw new PolicyError('invalid', file, [
      'it has no policy in it (it is empty or only comments); write one, or set POLICY_FILE=open for the open policy',
    ]);
  }

  const parsed = parsePolicyContent(content);
  if (!parsed.ok) {
    // In the order they appear in the file; a problem with no place in it (rare) comes last.
    const placed = parsed.problems.map((problem) => ({ problem, offset: offsetOf(doc, problem.path) ?? Infinity }));
    placed.sort((a, b) => a.offset - b.offset);
    throw new PolicyError(
      'invalid',
      file,
      placed.map(({ problem, offset }) => describeSchemaProblem(problem, offset, lineCounter)),
    );
  }
  return { ...parsed.document, source: file };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the file

async function readPolicyFile(file: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw readError(file, error);
  }
  try {
    // Read at most one byte past the limit, so neither a huge file nor an endless device is read whole.
    const buffer = Buffer.alloc(POLICY_FILE_MAX_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) {
        throw new PolicyError('unreadable', file, [
          `it is larger than ${POLICY_FILE_MAX_BYTES / 1024} KiB, far more than any policy needs; is this the right file?`,
        ]);
      }
    }
    return decodeUtf8(buffer.subarray(0, length), file);
  } catch (error) {
    throw error instanceof PolicyError ? error : readError(file, error);
  } finally {
    await handle.close();
  }
}

function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new PolicyError('unreadable', file, ['it is not UTF-8 text']);
  }
}

function readError(file: string, error: unknown): PolicyError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new PolicyError('missing', file, ['it does not exist']);
    case 'EACCES':
    case 'EPERM':
      return new PolicyError('unreadable', file, ['it cannot be read: permission denied']);
    case 'EISDIR':
      return new PolicyError('unreadable', file, ['it is a directory, not a file']);
    default:
      return new PolicyError('unreadable', file, [
        `it cannot be read (${code ?? (error instanceof Error ? error.message : String(error))})`,
      ]);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Describing problems

function lineAndColumn(lineCounter: LineCounter, offset: number): string {
  const { line, col } = lineCounter.linePos(offset);
  return `line ${line}, column ${col}`;
}

function describeYamlProblem(problem: YAMLError): string {
  switch (problem.code) {
    case 'BAD_ALIAS':
      return `${problem.message} (a bare * starts a YAML alias: write the rule for every other channel as "*":)`;
    case 'DUPLICATE_KEY':
      return 'this key appears twice in the same mapping; merge the two';
    case 'RESOURCE_EXHAUSTION':
      return 'it is nested too deeply to read';
    case 'TAG_RESOLVE_FAILED':
      return `${problem.message}; a policy needs no YAML tags (!…), remove it`;
    default:
      return problem.message;
  }
}

function describeAliasProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/excessive alias count/i.test(message)) {
    return `its aliases (*name) expand to too much (more than ${POLICY_MAX_ALIAS_COUNT} uses); write the lists out instead`;
  }
  return `it could not be read as YAML: ${message}`;
}

function describeSchemaProblem(problem: SchemaProblem, offset: number, lineCounter: LineCounter): string {
  const where = Number.isFinite(offset) ? `line ${lineCounter.linePos(offset).line}: ` : '';
  const path = formatPath(problem.path);
  return path === '' ? `${where}the file ${problem.message}` : `${where}${path}: ${problem.message}`;
}

/** Where in the text the value at `path` is written: at its key for mapping entries, at the item for list entries. */
function offsetOf(doc: Document, path: readonly PropertyKey[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0];
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : p.key) === String(segment));
      if (!pair) return offset;
      offset = isScalar(pair.key) ? pair.key.range?.[0] : offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      offset = (node as { range?: [number, number, number] } | undefined)?.range?.[0] ?? offset;
    } else return offset;
  }
  return offset;
}

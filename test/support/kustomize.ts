import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/*
 * A small renderer of kustomizations, so the deployment kit in deploy/ is checked as `kubectl kustomize` would build
 * it without a kubectl on the machine. It implements only the kustomize features the kit uses, and refuses the rest
 * rather than render them wrongly:
 *   - `resources` (files, and directories holding a Kustomization) and `components` (directories holding a Component);
 *   - `secretGenerator` with `envs`, `configMapGenerator` with `files`, both with kustomize's name hash suffix, and
 *     the references to them in a pod template renamed to match;
 *   - `patches` given by `path` or inline `patch`: JSON 6902 (add, replace, remove; needs a `target`) or strategic
 *     merge on maps and scalars only (a list in such a patch is refused: its merge keys are not implemented).
 * Files are read only from inside the kustomization's own directory, as kustomize's default load restrictor insists.
 */

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  [key: string]: unknown;
};
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Target {
  kind?: string;
  name?: string;
}

interface Patch {
  path?: string;
  patch?: string;
  target?: Target;
}

interface Kustomization {
  apiVersion: string;
  kind: 'Kustomization' | 'Component';
  resources?: string[];
  components?: string[];
  patches?: Patch[];
  secretGenerator?: { name: string; envs: string[] }[];
  configMapGenerator?: { name: string; files: string[] }[];
}

const SUPPORTED_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'components',
  'patches',
  'secretGenerator',
  'configMapGenerator',
]);

/** A generated object: its name before the hash suffix, for renaming what refers to it. */
interface Generated {
  kind: 'Secret' | 'ConfigMap';
  name: string;
  object: Manifest;
}

interface Accumulated {
  resources: Manifest[];
  generated: Generated[];
}

export class KustomizeError extends Error {}

const readYamlDocuments = (file: string): unknown[] =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((document) => {
      if (document.errors.length > 0) throw new KustomizeError(`${file}: ${document.errors[0]!.message}`);
      return document.toJS() as unknown;
    })
    .filter((value) => value !== null);

/** The default load restrictor: a kustomization reads files only under its own directory. */
function fileWithin(root: string, relative: string): string {
  const file = path.resolve(root, relative);
  if (file !== root && !file.startsWith(root + path.sep)) {
    throw new KustomizeError(`${relative}: is not in or below ${root} (kustomize's load restrictor refuses it)`);
  }
  if (!existsSync(file)) throw new KustomizeError(`${file}: no such file`);
  return file;
}

function readKustomization(dir: string): Kustomization {
  const file = path.join(dir, 'kustomization.yaml');
  if (!existsSync(file)) throw new KustomizeError(`${dir}: has no kustomization.yaml`);
  const [kustomization] = readYamlDocuments(file) as Kustomization[];
  if (!kustomization) throw new KustomizeError(`${file}: is empty`);
  const unsupported = Object.keys(kustomization).filter((key) => !SUPPORTED_FIELDS.has(key));
  if (unsupported.length > 0)
    throw new KustomizeError(`${file}: this renderer does not implement ${unsupported.join(', ')}`);
  return kustomization;
}

// --- generators --------------------------------------------------------------------------------------------------

/** kustomize's env file reading: `KEY=value` taken literally (no quotes removed), `#` lines and blank lines skipped. */
export function parseEnvFile(text: string, file: string): [string, string][] {
  const pairs: [string, string][] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, index) => {
      const line = raw.trimStart();
      if (line === '' || line.startsWith('#')) return;
      const equals = line.indexOf('=');
      // kustomize reads a bare KEY from its own environment; a kit must not depend on where it is rendered.
      if (equals < 0) throw new KustomizeError(`${file}:${index + 1}: "${line}" has no "=" (not supported here)`);
      const key = line.slice(0, equals);
      if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(key))
        throw new KustomizeError(`${file}:${index + 1}: "${key}" is not a valid key name`);
      if (pairs.some(([seen]) => seen === key)) throw new KustomizeError(`${file}:${index + 1}: ${key} is set twice`);
      pairs.push([key, line.slice(equals + 1).replace(/\r$/, '')]);
    });
  return pairs;
}

/** Go's json.Marshal of a map: keys sorted, and <, >, &, U+2028 and U+2029 escaped as Go escapes them. */
function goJson(value: Json): string {
  const sorted = (node: Json): Json =>
    Array.isArray(node)
      ? node.map(sorted)
      : node && typeof node === 'object'
        ? Object.fromEntries(
            Object.keys(node)
              .sort()
              .map((key) => [key, sorted(node[key]!)]),
          )
        : node;
  return JSON.stringify(sorted(value)).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * kustomize's name suffix (api/hasher): the first ten hex digits of the SHA-256 of {kind, name, data[, type]}, with
 * 0 1 3 a e swapped for letters. Its `name` is always "": kustomize looks it up as one key "metadata/name", finds
 * nothing, and hashes the empty string (checked against kubectl kustomize v5.5).
 */
function nameHash(encoded: JsonObject): string {
  const hex = createHash('sha256').update(goJson(encoded)).digest('hex').slice(0, 10);
  return hex.replace(/[013ae]/g, (c) => ({ 0: 'g', 1: 'h', 3: 'k', a: 'm', e: 't' })[c]!);
}

/** Base64 as kustomize writes a Secret's values: from 70 characters on, in lines of 70, each ending in a newline. */
function kustomizeBase64(value: string): string {
  const encoded = Buffer.from(value).toString('base64');
  if (encoded.length < 70) return encoded;
  return encoded.replace(/.{1,70}/g, (line) => `${line}\n`);
}

function generate(dir: string, kustomization: Kustomization): Generated[] {
  const secrets = (kustomization.secretGenerator ?? []).map(({ name, envs }): Generated => {
    const data = Object.fromEntries(
      envs.flatMap((env) => {
        const file = fileWithin(dir, env);
        return parseEnvFile(readFileSync(file, 'utf8'), file).map(([key, value]) => [key, kustomizeBase64(value)]);
      }),
    );
    const hash = nameHash({ kind: 'Secret', type: 'Opaque', name: '', data });
    return {
      kind: 'Secret',
      name,
      object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: `${name}-${hash}` }, type: 'Opaque', data },
    };
  });
  const configMaps = (kustomization.configMapGenerator ?? []).map(({ name, files }): Generated => {
    const data = Object.fromEntries(
      files.map((relative) => [path.basename(relative), readFileSync(fileWithin(dir, relative), 'utf8')]),
    );
    const hash = nameHash({ kind: 'ConfigMap', name: '', data });
    return {
      kind: 'ConfigMap',
      name,
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-${hash}` }, data },
    };
  });
  return [...configMaps, ...secrets];
}

// --- patches -----------------------------------------------------------------------------------------------------

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function strategicMerge(base: Json, patch: Json, at: string): Json {
  if (Array.isArray(patch))
    throw new KustomizeError(
      `${at}: a list in a strategic-merge patch (merge keys are not implemented here; use JSON 6902)`,
    );
  if (!isObject(patch) || !isObject(base)) return patch;
  const merged: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = strategicMerge(base[key] ?? {}, value, `${at}.${key}`);
  }
  return merged;
}

interface Operation {
  op: string;
  path: string;
  value?: Json;
}

function applyJson6902(document: Json, operations: Operation[], name: string): Json {
  const result = structuredClone(document);
  for (const { op, path: pointer, value } of operations) {
    const keys = pointer
      .split('/')
      .slice(1)
      .map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    if (last === undefined) throw new KustomizeError(`${name}: ${op} at the document's root is not implemented`);
    let parent: Json = result;
    for (const key of keys) {
      const child: Json | undefined = Array.isArray(parent)
        ? parent[Number(key)]
        : isObject(parent)
          ? parent[key]
          : undefined;
      if (child === undefined) throw new KustomizeError(`${name}: ${pointer}: ${key} does not exist`);
      parent = child;
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length - (op === 'add' ? 0 : 1))
        throw new KustomizeError(`${name}: ${pointer}: no index ${last}`);
      if (op === 'add') parent.splice(index, 0, structuredClone(value!));
      else if (op === 'replace') parent[index] = structuredClone(value!);
      else if (op === 'remove') parent.splice(index, 1);
      else throw new KustomizeError(`${name}: op ${op} is not implemented`);
    } else if (isObject(parent)) {
      if (op !== 'add' && !(last in parent)) throw new KustomizeError(`${name}: ${pointer} does not exist`);
      if (op === 'add' || op === 'replace') parent[last] = structuredClone(value!);
      else if (op === 'remove') delete parent[last];
      else throw new KustomizeError(`${name}: op ${op} is not implemented`);
    } else throw new KustomizeError(`${name}: ${pointer}: the parent is not an object or a list`);
  }
  return result;
}

function applyPatch(dir: string, patch: Patch, resources: Manifest[]): Manifest[] {
  const source = patch.path ? fileWithin(dir, patch.path) : `${dir} (inline patch)`;
  const parsed = (patch.path ? readYamlDocuments(source)[0] : parseAllDocuments(patch.patch ?? '')[0]?.toJS()) as Json;
  const json6902 = Array.isArray(parsed);
  const target: Target =
    patch.target ??
    (isObject(parsed) ? { kind: String(parsed.kind), name: String((parsed.metadata as JsonObject).name) } : {});
  if (json6902 && !patch.target) throw new KustomizeError(`${source}: a JSON 6902 patch needs a target`);
  const matches = (resource: Manifest) =>
    (!target.kind || resource.kind === target.kind) && (!target.name || resource.metadata.name === target.name);
  if (!resources.some(matches))
    throw new KustomizeError(`${source}: no resource matches ${target.kind}/${target.name}`);
  return resources.map((resource) => {
    if (!matches(resource)) return resource;
    if (json6902)
      return applyJson6902(
        resource as unknown as Json,
        parsed as unknown as Operation[],
        source,
      ) as unknown as Manifest;
    const { apiVersion: _apiVersion, kind: _kind, metadata: _metadata, ...body } = parsed as JsonObject;
    return strategicMerge(resource as unknown as Json, body, source) as unknown as Manifest;
  });
}

// --- building ----------------------------------------------------------------------------------------------------

function accumulate(dir: string, expected: Kustomization['kind'], into: Accumulated): Accumulated {
  const kustomization = readKustomization(dir);
  if (kustomization.kind !== expected)
    throw new KustomizeError(`${dir}: is a ${kustomization.kind}, where a ${expected} was expected`);
  let { resources, generated } = into;
  for (const entry of kustomization.resources ?? []) {
    // Another kustomization (../../base) is its own root and may lie anywhere; a file must lie within this one.
    const directory = path.resolve(dir, entry);
    if (existsSync(directory) && statSync(directory).isDirectory()) {
      const resolved = directory;
      const built = accumulate(resolved, 'Kustomization', { resources: [], generated: [] });
      resources = [...resources, ...built.resources];
      generated = [...generated, ...built.generated];
    } else resources = [...resources, ...(readYamlDocuments(fileWithin(dir, entry)) as Manifest[])];
  }
  for (const component of kustomization.components ?? []) {
    // A component may sit beside its users (../../components/x): kustomize loads it as its own root.
    ({ resources, generated } = accumulate(path.resolve(dir, component), 'Component', { resources, generated }));
  }
  generated = [...generated, ...generate(dir, kustomization)];
  for (const patch of kustomization.patches ?? []) resources = applyPatch(dir, patch, resources);
  return { resources, generated };
}

/** Renames, in every pod template, the references to generated Secrets and ConfigMaps to their suffixed names. */
function renameReferences(resource: Manifest, generated: Generated[]): Manifest {
  const renamed = (kind: Generated['kind'], name: unknown) =>
    generated.find((g) => g.kind === kind && g.name === name)?.object.metadata.name ?? name;
  const copy = structuredClone(resource) as Manifest & { spec?: { template?: { spec?: PodSpecReferences } } };
  const pod = copy.spec?.template?.spec;
  if (!pod) return copy;
  for (const container of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    for (const from of container.envFrom ?? []) {
      if (from.secretRef) from.secretRef.name = renamed('Secret', from.secretRef.name);
      if (from.configMapRef) from.configMapRef.name = renamed('ConfigMap', from.configMapRef.name);
    }
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom;
      if (ref?.secretKeyRef) ref.secretKeyRef.name = renamed('Secret', ref.secretKeyRef.name);
      if (ref?.configMapKeyRef) ref.configMapKeyRef.name = renamed('ConfigMap', ref.configMapKeyRef.name);
    }
  }
  for (const volume of pod.volumes ?? []) {
    if (volume.configMap) volume.configMap.name = renamed('ConfigMap', volume.configMap.name);
    if (volume.secret) volume.secret.secretName = renamed('Secret', volume.secret.secretName);
  }
  return copy;
}

interface PodSpecReferences {
  containers?: ContainerReferences[];
  initContainers?: ContainerReferences[];
  volumes?: { configMap?: { name: unknown }; secret?: { secretName: unknown } }[];
}

interface ContainerReferences {
  envFrom?: { secretRef?: { name: unknown }; configMapRef?: { name: unknown } }[];
  env?: { valueFrom?: { secretKeyRef?: { name: unknown }; configMapKeyRef?: { name: unknown } } }[];
}

/** What `kubectl kustomize <dir>` prints, as objects (in the order they were accumulated, not kustomize's kind order). */
export function renderKustomization(dir: string): Manifest[] {
  const { resources, generated } = accumulate(path.resolve(dir), 'Kustomization', { resources: [], generated: [] });
  return [...generated.map((g) => g.object), ...resources.map((resource) => renameReferences(resource, generated))];
}
